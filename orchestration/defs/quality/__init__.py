"""Quality layer: Great Expectations suites as asset checks, the scorecard, Data Docs.

The engine is ``quality/`` (rules, validation, quarantine, scorecard). The quarantine runs
inside every raw load as a step of the raw load's policy (``orchestration/defs/raw/assets.py``).
"""
