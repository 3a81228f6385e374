"""Which runs the queue tags ``platform/dbt`` (``orchestration/lib/run_coordinator.py``): those whose
plan runs the dbt op, read from the plan itself, so a run from an asset's page is judged like a job's.
That the tag then holds such runs to one at a time, with a real daemon and a run launched the way the
UI's Materialize button launches it, is ``tests/realtime/test_realtime_live.py``."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.utils import make_new_run_id

from orchestration.lib.run_coordinator import runs_dbt


@pytest.fixture(scope="module")
def implicit_job() -> Iterator[dg.JobDefinition]:
    with pytest.MonkeyPatch.context() as patch:  # resources are resolved to plan a run; nothing connects
        for name in ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN", "PLATFORM_REPLICA_DSN"):
            patch.setenv(name, "postgresql://nobody@localhost/nothing")
        from orchestration.definitions import defs

        yield defs.resolve_implicit_global_asset_job_def()


@pytest.mark.parametrize(("path", "expected"), [
    (["marts", "agent_leaderboard"], True),  # a dbt model
    (["raw", "tasks"], True),  # a raw table: its dbt source tests are checks of the dbt op
    (["alerts", "budget_alerts"], False),  # Python reading a mart
    (["ml", "churn_scores"], False),
])
def test_a_run_runs_dbt_when_its_plan_has_the_dbt_step(path: list[str], expected: bool,
                                                        implicit_job: dg.JobDefinition) -> None:
    key = dg.AssetKey(path)
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(implicit_job.get_subset(asset_selection={key}), asset_selection={key})
        assert runs_dbt(instance, run) is expected


def test_a_run_without_a_plan_is_not_judged() -> None:
    with dg.instance_for_test() as instance:
        run = instance.add_run(dg.DagsterRun(job_name="elsewhere", run_id=make_new_run_id()))
        assert runs_dbt(instance, run) is False
