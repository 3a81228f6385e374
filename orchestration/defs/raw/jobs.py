"""The raw layer's own jobs, for ad hoc runs and backfills of the raw layer alone."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from foundation.catalog import PARTITIONED_TABLES, SNAPSHOT_TABLES
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.run_tags import DBT_RUN_TAGS

raw_daily_selection = AssetSelection.assets(*[["raw", t.name] for t in PARTITIONED_TABLES])
raw_snapshot_selection = AssetSelection.assets(*[["raw", t.name] for t in SNAPSHOT_TABLES])

raw_daily_job = define_asset_job(
    "raw_daily_job",
    selection=raw_daily_selection,
    partitions_def=daily_partitions,
    description="Extract the daily partitions of every fact table.",
    tags=DBT_RUN_TAGS,  # the raw keys' dbt source tests run with the loads
)
raw_snapshots_job = define_asset_job(
    "raw_snapshots_job",
    selection=raw_snapshot_selection,
    description="Snapshot every dimension table.",
    tags=DBT_RUN_TAGS,
)
