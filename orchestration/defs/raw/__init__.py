"""Raw layer: one asset per source table, extracted with COPY and reconciled by count."""

from dagster import Definitions

from orchestration.defs.raw.assets import raw_assets
from orchestration.defs.raw.jobs import (
    raw_daily_job,
    raw_daily_schedule,
    raw_snapshots_job,
    raw_snapshots_schedule,
)

defs = Definitions(
    assets=raw_assets,
    jobs=[raw_daily_job, raw_snapshots_job],
    schedules=[raw_daily_schedule, raw_snapshots_schedule],
)
