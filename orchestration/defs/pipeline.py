"""Jobs and schedules that span domains: the daily pipeline from raw to the exports."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.lib.partitions import daily_partitions, previous_day
from orchestration.lib.run_tags import DBT_RUN_TAGS

# Everything that moves with the day: raw extraction (facts for the day, dimension
# snapshots), dbt staging and marts (incremental by day) and the quality scorecard.
# Unpartitioned members run once per run, also in a range backfill. The BigQuery exports
# follow with their own schedule once the day's marts exist (orchestration/defs/exports).
daily_pipeline_selection = AssetSelection.key_prefixes(
    ["raw"], ["reference"], ["staging"], ["marts"], ["ml_features"], ["quality"]
)

daily_pipeline_job = define_asset_job(
    "daily_pipeline_job",
    selection=daily_pipeline_selection,
    partitions_def=daily_partitions,
    description="Raw extraction -> quality checks and quarantine -> dbt staging and marts for one day "
    "(or a range, as a single run).",
    tags={"platform/pipeline": "daily", **DBT_RUN_TAGS},
)


@schedule(job=daily_pipeline_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
          name="daily_pipeline_job_schedule", default_status=DefaultScheduleStatus.RUNNING)
def daily_pipeline_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """02:00 UTC: the day that just ended, on the platform's clock."""
    return RunRequest(partition_key=previous_day(context.scheduled_execution_time).isoformat())
