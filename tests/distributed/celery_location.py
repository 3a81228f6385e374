"""The platform's code location plus its daily pipeline on the Celery executor (dagster-celery).

Loaded by the run (``dagster job execute -m tests.distributed.celery_location``) and, from the
run's code pointer, by every Celery worker that executes one of its steps.
"""

import dagster as dg
from dagster_celery import celery_executor

from orchestration import definitions as platform  # a module: one Definitions object at this module's scope
from orchestration.defs.pipeline import daily_pipeline_job

# The same selection, partitions and tags as the daily pipeline; only the executor differs.
daily_pipeline_celery_job = dg.define_asset_job(
    "daily_pipeline_celery_job",
    selection=daily_pipeline_job.selection,
    partitions_def=daily_pipeline_job.partitions_def,
    tags=daily_pipeline_job.tags,
    executor_def=celery_executor,
)

defs = dg.Definitions.merge(platform.defs, dg.Definitions(jobs=[daily_pipeline_celery_job]))
