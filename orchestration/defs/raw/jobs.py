"""The raw layer's jobs and the 02:00 daily schedule (previous day's partition)."""

from __future__ import annotations

from dagster import AssetSelection, ScheduleDefinition, build_schedule_from_partitioned_job, define_asset_job

from orchestration.defs.raw.catalog import PARTITIONED_TABLES, SNAPSHOT_TABLES
from orchestration.partitions import daily_partitions

raw_daily_selection = AssetSelection.assets(*[["raw", t.name] for t in PARTITIONED_TABLES])
raw_snapshot_selection = AssetSelection.assets(*[["raw", t.name] for t in SNAPSHOT_TABLES])

raw_daily_job = define_asset_job(
    "raw_daily_job",
    selection=raw_daily_selection,
    partitions_def=daily_partitions,
    description="Extract the daily partitions of every fact table.",
)
raw_snapshots_job = define_asset_job(
    "raw_snapshots_job",
    selection=raw_snapshot_selection,
    description="Snapshot every dimension table.",
)

# A daily-partitioned job scheduled at 02:00 runs the partition of the day that just ended.
raw_daily_schedule = build_schedule_from_partitioned_job(raw_daily_job, hour_of_day=2, minute_of_hour=0)
raw_snapshots_schedule = ScheduleDefinition(job=raw_snapshots_job, cron_schedule="45 1 * * *",
                                            execution_timezone="UTC")
