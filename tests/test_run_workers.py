"""Run workers are forks of a warm server beside the code server, not fresh interpreters.

A real code server (``dagster api grpc``, started by Dagster's workspace as the daemon and the UI
start theirs) serves ``tests/run_workers/location.py``, which starts its run workers the platform's
way (``orchestration/lib/run_workers.py``). Runs go through the repository's run launcher. Each
run's op writes down the process it runs in and which process imported the code location."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.launcher.base import WorkerStatus

from foundation.settings import REPO_ROOT
from orchestration.cli.launch import code_location, wait_for
from orchestration.lib.run_launcher import worker_pid
from orchestration.lib.run_workers import MODE_VARIABLE, fork_run_workers_from_warm_server
from tests.run_workers.processes import command_line, parent, wait_gone

LOCATION = "run_workers_test"


@contextmanager
def _serving(folder: Path) -> Iterator[tuple[dg.DagsterInstance, Any]]:
    """The platform's run launcher on an instance of the test's own, and a workspace whose code server
    serves the test location."""
    workspace_file = folder / "workspace.yaml"
    workspace_file.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "tests.run_workers.location", "location_name": LOCATION,
        "working_directory": str(REPO_ROOT)}}]}))
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides={"run_launcher": config["run_launcher"]}) as instance, \
            code_location(instance, workspace_file) as workspace:
        yield instance, workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dg.DagsterInstance, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(MODE_VARIABLE, raising=False)  # the default
        with _serving(tmp_path_factory.mktemp("run-workers")) as serving:
            yield serving


def _launch(served: tuple[dg.DagsterInstance, Any], report: Path, seconds: float = 0.0) -> dg.DagsterRun:
    from dagster._cli.job import _create_run
    from dagster._cli.workspace.cli_target import (
        get_code_location_from_workspace,
        get_remote_job_from_remote_repo,
        get_remote_repository_from_code_location,
    )

    instance, workspace = served
    location = get_code_location_from_workspace(workspace, LOCATION)
    repository = get_remote_repository_from_code_location(location, None)
    job = get_remote_job_from_remote_repo(repository, "report_job")
    run_config = {"ops": {"report_process": {"config": {"report": str(report), "seconds": seconds}}}}
    run = _create_run(instance=instance, code_location=location, remote_repo=repository, remote_job=job,
                      run_config=run_config, tags={}, op_selection=None, run_id=None)
    return instance.launch_run(run.run_id, workspace)


def _reported(report: Path, timeout: float = 60.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while not report.exists() or not report.read_text():
        assert time.monotonic() < deadline, f"no report at {report}"
        time.sleep(0.05)
    return json.loads(report.read_text())


def test_each_run_worker_is_a_fork_of_one_warm_server_that_imported_the_code_location(
        served: tuple[dg.DagsterInstance, Any], tmp_path: Path) -> None:
    instance, _ = served
    workers = []
    for name in ("first", "second"):
        run = _launch(served, tmp_path / name)
        [done] = wait_for(instance, [run.run_id], timeout=120)
        assert done.status == dg.DagsterRunStatus.SUCCESS
        worker = _reported(tmp_path / name)
        # the worker did not import the code location: the process it was forked from had
        assert worker["imported_by"] == worker["ppid"] != worker["pid"]
        # the run monitor's health check follows the worker itself, not the server it was forked from
        assert worker_pid(instance, done) == worker["pid"]
        workers.append(worker)
    assert workers[0]["pid"] != workers[1]["pid"]
    assert workers[0]["ppid"] == workers[1]["ppid"], "one warm server for every run"
    warm_server = workers[0]["ppid"]
    assert "forkserver" in command_line(warm_server)
    assert "api grpc" in command_line(parent(warm_server)), "the warm server belongs to the code server"


def test_a_forked_worker_stops_when_its_run_is_terminated(
        served: tuple[dg.DagsterInstance, Any], tmp_path: Path) -> None:
    instance, _ = served
    run = _launch(served, tmp_path / "report", seconds=300)
    worker = _reported(tmp_path / "report")
    assert instance.run_launcher.terminate(run.run_id)
    [done] = wait_for(instance, [run.run_id], timeout=60, poll=0.2)
    assert done.status == dg.DagsterRunStatus.CANCELED
    wait_gone(worker["pid"], timeout=30, what="the terminated run's worker still runs")


def test_a_killed_forked_worker_is_reported_dead_to_the_run_monitor(
        served: tuple[dg.DagsterInstance, Any], tmp_path: Path) -> None:
    instance, _ = served
    run = _launch(served, tmp_path / "report", seconds=300)
    worker = _reported(tmp_path / "report")
    started = instance.get_run_by_id(run.run_id)
    assert started is not None
    assert instance.run_launcher.check_run_worker_health(started).status == WorkerStatus.RUNNING
    os.kill(worker["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while instance.run_launcher.check_run_worker_health(started).status != WorkerStatus.FAILED:
        assert time.monotonic() < deadline, "the killed worker still counts as running"
        time.sleep(0.1)
    wait_for(instance, [run.run_id], timeout=60, poll=0.2)  # the code server reports the dead worker


def test_spawn_keeps_dagsters_own_cold_run_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the Kubernetes image sets: each worker is a new interpreter that imports the code location."""
    monkeypatch.setenv(MODE_VARIABLE, "spawn")
    with _serving(tmp_path) as served:
        instance, _ = served
        run = _launch(served, tmp_path / "report")
        [done] = wait_for(instance, [run.run_id], timeout=120)
        assert done.status == dg.DagsterRunStatus.SUCCESS
        worker = _reported(tmp_path / "report")
        assert worker["imported_by"] == worker["pid"]


def test_a_mistyped_mode_is_refused_naming_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_VARIABLE, "fork")
    with pytest.raises(ValueError, match="PLATFORM_RUN_WORKERS='fork': 'warm' .* or 'spawn'"):
        fork_run_workers_from_warm_server()


def test_only_a_code_server_forks_its_run_workers() -> None:
    """Importing the code location elsewhere (a CLI, a test, ``dg check``) changes nothing."""
    from dagster._grpc.server import DagsterApiServer

    import orchestration.definitions  # noqa: F401 - what a CLI or a test imports

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(MODE_VARIABLE, raising=False)  # the default, which would fork in a code server
        assert not fork_run_workers_from_warm_server()
    assert not isinstance(DagsterApiServer.__dict__.get("_mp_ctx"), property)


_WARM_UP_PROBE = """
import json, os, threading
from orchestration.lib.run_workers import WARM_MODULES
for module in WARM_MODULES:  # what the warm server imports, in its order
    __import__(module)
import orchestration.lib.run_worker_warmup as warm
from orchestration.defs.resources import defs
from orchestration.lib.dbt_project import _ADAPTER, prepared_adapter_key
dbt = defs.resources["dbt"].process_config_and_initialize()  # as a run resolves it
descriptors = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
               if os.path.exists(f"/proc/self/fd/{fd}")]
probe = {"prepared": warm.PREPARED, "adapter_fits_the_run": prepared_adapter_key() == dbt.adapter_key,
         "threads": threading.active_count(), "sockets": [d for d in descriptors if d.startswith("socket:")]}
# one fork (a run worker) dies holding the adapter's lock; a later fork still takes its own
import signal
held = os.pipe()
first = os.fork()
if first == 0:
    _ADAPTER["adapter"].connections.lock.acquire()
    os.write(held[1], b"1")
    signal.pause()
os.read(held[0], 1)
os.kill(first, signal.SIGKILL)
os.waitpid(first, 0)
read, write = os.pipe()
second = os.fork()
if second == 0:
    os.write(write, b"1" if _ADAPTER["adapter"].connections.lock.acquire(timeout=5) else b"0")
    os._exit(0)
os.waitpid(second, 0)
probe["fork_has_its_own_adapter_lock"] = os.read(read, 1) == b"1"
print(json.dumps(probe))
"""


def test_the_warm_server_prepares_the_adapter_a_runs_dbt_step_asks_for_and_nothing_a_fork_cannot_copy() -> None:
    """What the warm server imports (``run_worker_warmup.py``) builds dbt's adapter for the run's own
    resource, so a forked worker's first dbt step finds it; and it leaves no thread or connection
    behind, which a fork would copy broken."""
    from orchestration.lib.dbt_env import WAREHOUSE_DSN_VARIABLE

    environment = {**os.environ, WAREHOUSE_DSN_VARIABLE: "host=/nonexistent user=platform dbname=warehouse"}
    done = subprocess.run([sys.executable, "-c", _WARM_UP_PROBE], cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["prepared"] == ["great_expectations", "dbt adapter"]
    assert probe["adapter_fits_the_run"]
    assert probe["threads"] == 1 and probe["sockets"] == []
    # dbt's lock is a semaphore shared across processes: a fork's must be its own, or a worker killed
    # holding it would block every later run's metadata queries
    assert probe["fork_has_its_own_adapter_lock"]


@pytest.mark.parametrize("register, runs", [("with_at_process_exit", True), ("with_atexit", False)])
def test_what_a_process_does_as_it_ends_also_runs_in_a_forked_worker(register: str, runs: bool, tmp_path: Path) -> None:
    """A forked worker ends with ``os._exit`` after its target, which skips ``atexit``: the Data Docs
    index of a run's validations is rebuilt at the worker's end with ``at_process_exit`` instead
    (``quality/validation.py``)."""
    import multiprocessing

    from tests.run_workers import exits

    ended = tmp_path / "ended"
    worker = multiprocessing.get_context("forkserver").Process(target=getattr(exits, register), args=(str(ended),))
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0
    assert ended.exists() is runs
