"""Raw layer: one asset per source table, extracted with COPY and reconciled by count."""

from dagster import Definitions

from orchestration.defs.raw.assets import raw_assets
from orchestration.defs.raw.jobs import raw_daily_job, raw_snapshots_job

# The 02:00 schedule belongs to the daily pipeline (orchestration/defs/pipeline.py),
# which runs these assets with everything downstream of them.
defs = Definitions(assets=raw_assets, jobs=[raw_daily_job, raw_snapshots_job])
