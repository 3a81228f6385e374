"""Jobs and schedules that span domains: the daily pipeline from raw to the exports."""

from __future__ import annotations

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job

from orchestration.partitions import daily_partitions

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
    tags={"platform/pipeline": "daily"},
)

# 02:00 UTC, for the day that just ended.
daily_pipeline_schedule = build_schedule_from_partitioned_job(daily_pipeline_job, hour_of_day=2, minute_of_hour=0)
