"""Dagster definitions only, one folder per domain; ``orchestration/definitions.py`` loads this
folder with ``load_from_defs_folder`` (every module's assets, checks, jobs, schedules, sensors,
and the resources of ``resources.py``). Engines live in the libraries beside ``orchestration``."""
