"""What the warm server of ``run_workers.py`` prepares once, for every run worker forked from it.

Imported by that server only (``run_workers.WARM_MODULES``): importing this module is the
preparation. Each part is what a run's first steps would otherwise pay again:

- Great Expectations and its expectations, which the quality checks import lazily so that the
  code location loads fast (2-3 s);
- dbt's adapter for the environment's warehouse, which dagster-dbt builds from the project's
  macros for the first dbt step of a process (1.8 s): ``PlatformDbtResource`` keeps one per
  process, so a worker forked after this finds it made, for the same project and warehouse.

Nothing here opens a connection or starts a thread: a fork copies neither safely. A failure is
logged and the server starts without that part (a run then prepares it itself), because an
exception raised here would stop the warm server and with it every run's start.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def warm_up() -> list[str]:
    """Prepare what every run worker uses; returns what was prepared."""
    prepared = []
    try:
        import great_expectations  # noqa: F401
        import great_expectations.expectations  # noqa: F401

        prepared.append("great_expectations")
    except Exception:
        log.exception("the warm server could not import Great Expectations")
    try:
        from orchestration.lib.dbt_env import WAREHOUSE_DSN_VARIABLE
        from orchestration.lib.dbt_project import platform_dbt

        if os.environ.get(WAREHOUSE_DSN_VARIABLE):
            # as the code location binds it, with the variable resolved as a run resolves it
            platform_dbt(os.environ[WAREHOUSE_DSN_VARIABLE]).prepare_adapter()
            prepared.append("dbt adapter")
    except Exception:
        log.exception("the warm server could not prepare dbt's adapter")
    return prepared


PREPARED = warm_up()
