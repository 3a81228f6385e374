"""The code location: assembles what the domain packages declare, plus platform-wide policies."""

from __future__ import annotations

from dagster import Definitions, multiprocess_executor

from orchestration.defs import archive, exports, marts, ml, provisioning, quality, raw
from orchestration.defs.pipeline import daily_pipeline_job, daily_pipeline_schedule
from orchestration.resources import bigquery_resource, postgres_resources

# Steps fork from a server that has already imported the code location (dbt, Great
# Expectations and the ML libraries take tens of seconds to import per process).
executor = multiprocess_executor.configured(
    {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["orchestration.definitions"]}}}
)

defs = Definitions.merge(
    raw.defs,
    quality.defs,
    marts.defs,
    exports.defs,
    archive.defs,
    ml.defs,
    provisioning.defs,
    Definitions(
        jobs=[daily_pipeline_job],
        schedules=[daily_pipeline_schedule],
        resources={**postgres_resources(), "bigquery": bigquery_resource()},
        executor=executor,
    ),
)
