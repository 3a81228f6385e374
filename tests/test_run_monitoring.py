"""A run whose worker died with its code server is failed by run monitoring, not left STARTED.

Such a run would hold its queue limits for ever (``platform/dbt``: the daily pipeline and the
real-time tier). The instance here has the repository's launcher and run monitoring settings; the
worker is a real process that reports its pid as Dagster's run worker does, and Dagster's own
monitor judges it."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import EngineEventData
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from foundation.settings import REPO_ROOT
from orchestration.lib.run_launcher import LocalRunLauncher, process_alive
from tests.run_workers.processes import wait_gone

_LOCAL_SERVER = {GRPC_INFO_TAG: json.dumps({"host": "localhost", "port": 4266})}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    overrides = {key: config[key] for key in ("run_launcher", "run_monitoring", "run_retries")}
    with dg.instance_for_test(overrides=overrides) as test_instance:
        yield test_instance


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def _started_run(instance: dg.DagsterInstance, tags: dict[str, str], pid: int | None) -> dg.DagsterRun:
    run = instance.add_run(dg.DagsterRun(job_name="daily_pipeline_job", run_id=str(uuid.uuid4()),
                                         status=dg.DagsterRunStatus.STARTED, tags=tags))
    if pid is not None:  # what the run worker writes first (dagster/_grpc/impl.py)
        instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    return run


def _monitor(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun:
    [record] = instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id]))
    monitor_started_run(instance, None, record, logging.getLogger("run_monitoring"))  # type: ignore[arg-type]
    updated = instance.get_run_by_id(run.run_id)
    assert updated is not None
    return updated


def test_the_platform_launches_runs_with_a_worker_health_check(instance: dg.DagsterInstance) -> None:
    assert isinstance(instance.run_launcher, LocalRunLauncher)
    assert instance.run_monitoring_enabled and instance.run_launcher.supports_check_run_worker_health


def test_a_run_whose_worker_was_killed_is_failed_and_one_whose_worker_lives_is_not(
        instance: dg.DagsterInstance, worker: subprocess.Popen[bytes]) -> None:
    run = _started_run(instance, _LOCAL_SERVER, worker.pid)
    assert _monitor(instance, run).status == dg.DagsterRunStatus.STARTED

    worker.send_signal(signal.SIGKILL)  # and not reaped: a zombie is no worker
    wait_gone(worker.pid)
    failed = _monitor(instance, run)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    # the run's page says why
    [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert f"run worker {worker.pid} is gone" in failure.message, failure.message


def test_a_zombie_worker_counts_as_gone(worker: subprocess.Popen[bytes]) -> None:
    assert process_alive(worker.pid)
    worker.send_signal(signal.SIGKILL)
    wait_gone(worker.pid)  # killed, not reaped: /proc still lists it, in state Z
    assert (Path("/proc") / str(worker.pid)).exists()
    assert worker.poll() is not None  # reaped now: gone from /proc too
    assert not process_alive(worker.pid)


@pytest.mark.parametrize("tags, pid", [
    ({}, None),  # run in process (dagster job execute, a test): no worker of ours to judge
    (_LOCAL_SERVER, None),  # launched, its worker has not reported its pid yet
    ({GRPC_INFO_TAG: json.dumps({"host": "code-server.example", "port": 4266})}, 2 ** 22 + 1),  # another host's pid
])
def test_a_run_the_launcher_cannot_judge_is_left_running(instance: dg.DagsterInstance, tags: dict[str, str],
                                                         pid: int | None) -> None:
    run = _started_run(instance, tags, pid)
    assert _monitor(instance, run).status == dg.DagsterRunStatus.STARTED
