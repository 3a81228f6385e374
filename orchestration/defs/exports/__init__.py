"""Exports: the export-shaped marts, one day at a time, into day-partitioned BigQuery tables."""

from dagster import Definitions

from orchestration.defs.exports.assets import export_assets, exports_daily_job, exports_daily_schedule

# The `bigquery` resource is shared with the provisioning agents: orchestration.resources.

defs = Definitions(
    assets=export_assets,
    jobs=[exports_daily_job],
    schedules=[exports_daily_schedule],
)
