"""The code location: assembles what the domain packages declare, plus platform-wide policies."""

from __future__ import annotations

from dagster import Definitions

from orchestration.defs import marts, raw
from orchestration.defs.pipeline import daily_pipeline_job, daily_pipeline_schedule
from orchestration.resources import postgres_resources

defs = Definitions.merge(
    raw.defs,
    marts.defs,
    Definitions(
        jobs=[daily_pipeline_job],
        schedules=[daily_pipeline_schedule],
        resources=postgres_resources(),
    ),
)
