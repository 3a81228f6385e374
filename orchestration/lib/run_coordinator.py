"""The run queue: Dagster's own (``QueuedRunCoordinator``), which also tags every run that runs dbt.

``dagster.yaml`` lets one run tagged ``platform/dbt`` in flight, because two ``dbt build``s on one
warehouse rebuild the same staging views and test-failure tables under each other and one fails.
Every job with the dbt op carries the tag in its definition. A run started from an asset's page
(Materialize, Dagster's implicit asset job) or from a selection in the lineage graph comes from no
job of ours, so it had no tag and could run dbt beside the daily run or a real-time refresh.

This queue reads the run's execution plan when the run is submitted: if a step of it is the dbt op
(``DBT_OP``), the run gets ``DBT_RUN_TAGS`` before it is queued, however it was started. The run page
shows the tag, and the queue's "waiting for platform/dbt" explains a run that waits for another.
The tag is added only where it is missing; a run that asks for another value keeps its own.

Kept free of dbt and of the code location: the daemon and the webserver import it.
"""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRun
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.run_coordinator.base import SubmitRunContext

from orchestration.lib.run_tags import DBT_OP, DBT_RUN_TAGS


def runs_dbt(instance: DagsterInstance, run: DagsterRun) -> bool:
    """Whether the run's plan executes the dbt op (any of its assets or checks)."""
    if run.execution_plan_snapshot_id is None:
        return False
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    to_run = set(plan.step_keys_to_execute) if plan.step_keys_to_execute else {s.key for s in plan.steps}
    return any(key.rsplit(".", 1)[-1] == DBT_OP for key in to_run)


class PlatformRunCoordinator(QueuedRunCoordinator):
    """``QueuedRunCoordinator`` (same configuration) that tags runs with a dbt step ``DBT_RUN_TAGS``."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        missing = {k: v for k, v in DBT_RUN_TAGS.items() if k not in run.tags}
        if missing and runs_dbt(self._instance, run):
            self._instance.add_run_tags(run.run_id, missing)
            run = self._instance.get_run_by_id(run.run_id) or run
            context = SubmitRunContext(run, context.workspace)
        return super().submit_run(context)
