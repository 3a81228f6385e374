"""Run tags the instance's queue limits (``dagster.yaml``) act on, without importing dbt: the daemon
and the webserver read them (``run_coordinator.py``), and so do the job definitions."""

from __future__ import annotations

# The dbt op: one multi-asset that runs dbt for the staging, marts and ML-feature models and the raw
# keys' source tests (orchestration/defs/marts/assets.py).
DBT_OP = "marts"

# Every run with the dbt op carries this; dagster.yaml lets one such run in flight. Two dbt invocations
# on one warehouse rebuild the same staging views and test-failure tables and break each other (a
# refresh of today beside another day's daily run: "relation ... does not exist").
DBT_RUN_TAGS = {"platform/dbt": "warehouse"}
