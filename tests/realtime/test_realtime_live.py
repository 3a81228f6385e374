"""Live, end to end, with the real daemon: a row written to the app database reaches raw and the
real-time mart within the freshness target (seed 000: 5 minutes), by itself.

The module's fixture starts ``dagster-daemon`` (orchestration/cli/launch.py's ``running_daemon``,
stopped by pid) on an instance of its own: the platform's ``dagster.yaml`` (queued runs, one
real-time refresh at a time, one run per partition) with its storage in a fresh database, and the
code location of ``workspace.yaml`` pointed at a real-time stack of its own. Every schedule and
sensor but ``realtime_sensor`` is paused, as the demo pauses what it does not exercise. Nothing here
launches a run: the sensor sees the app database move and the daemon runs the refresh it requests.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
import psycopg
import pytest

from foundation.connections import sqlalchemy_url
from foundation.settings import REPO_ROOT
from orchestration.cli.launch import (
    LOCATION,
    RunRequest,
    automation_paused,
    code_location,
    running_daemon,
    submit,
    wait_for,
)
from orchestration.defs.realtime.sensors import realtime_sensor
from orchestration.lib.run_tags import DBT_RUN_TAGS
from quality.policy import REALTIME_FRESHNESS
from tests.realtime.conftest import RealtimeStack, realtime_stack
from tests.run_workers.processes import command_line, descendants, parent
from tests.simulations import Simulations

FRESHNESS_TARGET_SECONDS = REALTIME_FRESHNESS.total_seconds()  # seed 000: 5 minutes


@dataclass(frozen=True)
class Live:
    stack: RealtimeStack
    instance: dg.DagsterInstance
    workspace: object
    daemon_pid: int


def _refresh_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(job_name="realtime_refresh_job")))


@pytest.fixture(scope="module")
def live(simulations: Simulations, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    stack = realtime_stack(simulations, tmp_path_factory, "rtl")
    home = tmp_path_factory.mktemp("rtl-dagster")
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    storage = simulations.empty("rtl_dagster")
    with pytest.MonkeyPatch.context() as patch:  # what the daemon, its code location and its runs read
        for name, value in {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": sqlalchemy_url(storage, driver="psycopg2"),
                            "PLATFORM_APP_DSN": stack.app_dsn, "PLATFORM_WAREHOUSE_DSN": stack.warehouse_dsn,
                            "PLATFORM_REPLICA_DSN": stack.warehouse_dsn}.items():
            patch.setenv(name, value)
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        with dg.DagsterInstance.get() as instance, code_location(instance) as workspace, \
                automation_paused(instance, workspace, keep={realtime_sensor.name}), \
                running_daemon(home / "daemon.log") as daemon_pid:
            # the sensor's first tick refreshes today; the row of the test is written after it
            deadline = time.monotonic() + 600
            while not _refresh_runs(instance):
                assert time.monotonic() < deadline, (home / "daemon.log").read_text()[-3000:]
                time.sleep(1)
            [first] = wait_for(instance, [r.run_id for r in _refresh_runs(instance)], timeout=600)
            assert first.status == dg.DagsterRunStatus.SUCCESS, f"the first refresh {first.run_id} failed"
            yield Live(stack, instance, workspace, daemon_pid)


def _source_messages(stack: RealtimeStack) -> int:
    with psycopg.connect(stack.app_dsn) as app:
        row = app.execute("SELECT count(*) FROM chat_messages WHERE created_at >= %s::date", (stack.today,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_row_written_now_reaches_the_realtime_mart_within_the_target_by_itself(live: Live) -> None:
    stack = live.stack
    runs_before = len(_refresh_runs(live.instance))
    stack.write_live_rows(batch=77, tasks=1, messages=1)
    written = time.monotonic()
    with psycopg.connect(stack.app_dsn) as app:
        [(message_id,)] = app.execute("SELECT max(id) FROM chat_messages").fetchall()
    expected = _source_messages(stack)
    in_raw = in_mart = None
    while time.monotonic() - written < FRESHNESS_TARGET_SECONDS:
        if in_raw is None and stack.scalar("SELECT count(*) FROM raw.chat_messages WHERE id = %s", message_id):
            in_raw = time.monotonic() - written
        mart = stack.scalar("SELECT sum(total_messages) FROM marts.agent_metrics_hourly WHERE day = %s", stack.today)
        if in_raw is not None and mart == expected:
            in_mart = time.monotonic() - written
            break
        time.sleep(2)
    assert in_raw is not None, f"message {message_id} not in raw {FRESHNESS_TARGET_SECONDS}s after it was written"
    assert in_mart is not None, (f"agent_metrics_hourly counts {mart} of today's {expected} messages "
                                 f"{FRESHNESS_TARGET_SECONDS}s after the write")
    # the sensor launched it, because the watermarks moved; the run ends in success (checks, alerts)
    runs = _refresh_runs(live.instance)  # newest first
    new = runs[: len(runs) - runs_before]
    assert any("moved" in r.tags.get("platform/trigger", "") for r in new), [r.tags for r in new]
    finished = wait_for(live.instance, [r.run_id for r in new], timeout=600)
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in finished), [(r.run_id, r.status) for r in finished]


_LAUNCH_RUN = """
mutation LaunchRun($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}
"""


def _materialize_from_asset_page(live: Live, path: list[str]) -> str:
    """What an asset page's Materialize button sends: the webserver's GraphQL ``launchRun`` of Dagster's
    implicit asset job with that asset selected and no tags of ours."""
    from dagster_graphql.test.utils import execute_dagster_graphql

    params = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                           "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": path}]},
              "mode": "default", "executionMetadata": {"tags": []}}
    result = execute_dagster_graphql(live.workspace, _LAUNCH_RUN, {"params": params})  # type: ignore[arg-type]
    assert not result.errors, result.errors
    launched = result.data["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return str(launched["run"]["runId"])


def test_runs_that_run_dbt_submitted_together_take_turns_on_the_warehouse(live: Live) -> None:
    """A raw backfill of yesterday (its dbt step runs the raw keys' source tests), today's refresh and a
    staging view materialized from its asset page (the UI's implicit asset job, as the Materialize button
    launches it), submitted at the same moment, all run dbt on the warehouse: the queue starts one
    after the other, and all succeed. Side by side (as the 02:00 daily run and the sensor's refresh
    were), two dbt builds rebuilt the same views and test tables under each other and one failed.
    Every job that runs dbt carries the tag (tests/test_job_plans.py); a run from an asset's page
    comes from no job of ours and gets it from the queue (orchestration/lib/run_coordinator.py)."""
    today = live.stack.today
    yesterday = (today - timedelta(days=1)).isoformat()
    backfill = submit(live.instance, live.workspace, RunRequest("raw_daily_job", partition=yesterday))
    refresh = submit(live.instance, live.workspace, RunRequest("realtime_refresh_job", partition=today.isoformat()))
    from_the_ui = _materialize_from_asset_page(live, ["staging", "stg_marketplace__tasks"])
    finished = wait_for(live.instance, [backfill.run_id, refresh.run_id, from_the_ui], timeout=900)
    failures = {r.job_name: [str(getattr(e.dagster_event.event_specific_data, "error", None) or e.message)[:1500]
                             for e in live.instance.all_logs(r.run_id)
                             if e.dagster_event is not None and e.dagster_event.is_failure][:2]
                for r in finished if r.status != dg.DagsterRunStatus.SUCCESS}
    assert not failures, failures
    # no two runs with a dbt step were ever in flight together: these two, nor the sensor's refreshes
    [(key, value)] = DBT_RUN_TAGS.items()
    records = live.instance.get_run_records(dg.RunsFilter(tags={key: value}))
    assert {backfill.run_id, refresh.run_id, from_the_ui} <= {r.dagster_run.run_id for r in records}
    spans = sorted((r.start_time, r.end_time, r.dagster_run.job_name) for r in records if r.start_time)
    assert all(s[1] is not None for s in spans), spans
    for (_, ended, first), (started, _, second) in zip(spans, spans[1:], strict=False):
        assert ended <= started, f"{first} and {second} ran dbt at the same time"


def test_the_platforms_run_workers_are_forks_of_a_warm_server_beside_its_code_server(live: Live) -> None:
    """The daemon's code server for the platform has a warm server (orchestration/lib/run_workers.py)
    that imported the code location. That its workers are forks of it, and what that keeps working,
    is shown on a code server of the test's own (tests/test_run_workers.py)."""
    code_servers = [pid for pid in descendants(live.daemon_pid)
                    if "api grpc" in command_line(pid) and "orchestration.definitions" in command_line(pid)]
    assert code_servers, "the daemon serves no code location"
    warm = [pid for server in code_servers for pid in descendants(server)
            if "forkserver" in command_line(pid) and parent(pid) == server]
    assert warm, "the platform's code server starts its run workers cold"
    for pid in warm:
        assert "orchestration.definitions" in command_line(pid), "the warm server does not import the code location"
