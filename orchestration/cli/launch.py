"""Runs submitted to the platform's instance for the code location of ``workspace.yaml``, as
``dagster job launch`` and the UI submit them: each run records its code-location origin, shows
under its job and on the timeline, and can be re-executed from the UI.

A run is queued (``dagster.yaml``: the platform's QueuedRunCoordinator) and started by the daemon with the
instance's run launcher (one ``dagster api execute_run`` process per run), exactly as schedules
and sensors start theirs. ``running_daemon`` starts ``dagster-daemon`` for the caller and stops
it by pid when the caller has none of its own (the demo, the benchmarks, end-to-end tests).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from foundation.settings import REPO_ROOT

log = logging.getLogger(__name__)

LOCATION = "agent_platform"  # workspace.yaml, pyproject's [tool.dg] and [tool.dagster]
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
AUTO_RETRY_RUN_ID_TAG = "dagster/auto_retry_run_id"
WILL_RETRY_TAG = "dagster/will_retry"
_FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class RunRequest:
    """One job run to submit: a partition, a range of days as one run, or neither."""

    job: str
    partition: str | None = None
    window: tuple[date, date] | None = None  # [start, end): a single-run backfill of those days
    tags: Mapping[str, str] = field(default_factory=dict)

    def run_tags(self) -> dict[str, str]:
        tags = dict(self.tags)
        if self.partition is not None:
            tags[PARTITION_TAG] = self.partition
        if self.window is not None:
            tags[RANGE_START_TAG] = self.window[0].isoformat()
            tags[RANGE_END_TAG] = (self.window[1] - timedelta(days=1)).isoformat()
        return tags


@contextmanager
def code_location(instance: DagsterInstance, workspace_file: Path = REPO_ROOT / "workspace.yaml") -> Iterator[object]:
    """The workspace of ``workspace.yaml`` (its code location served by a gRPC process, as in the UI)."""
    from dagster._cli.workspace.cli_target import get_workspace_from_cli_opts
    from dagster.version import __version__
    from dagster_shared.cli import WorkspaceOpts

    with get_workspace_from_cli_opts(instance, version=__version__,
                                     workspace_opts=WorkspaceOpts(workspace=[str(workspace_file)])) as workspace:
        yield workspace


def submit(instance: DagsterInstance, workspace: object, request: RunRequest) -> DagsterRun:
    """Create the run with its code-location origin and submit it to the instance's run coordinator."""
    from dagster._cli.job import _create_run  # what `dagster job launch` runs, without a CLI process per run
    from dagster._cli.workspace.cli_target import (
        get_code_location_from_workspace,
        get_remote_job_from_remote_repo,
        get_remote_repository_from_code_location,
    )

    location = get_code_location_from_workspace(workspace, LOCATION)  # type: ignore[arg-type]
    repository = get_remote_repository_from_code_location(location, None)
    job = get_remote_job_from_remote_repo(repository, request.job)
    run = _create_run(instance=instance, code_location=location, remote_repo=repository, remote_job=job,
                      run_config={}, tags=request.run_tags(), op_selection=None, run_id=None)
    return instance.submit_run(run.run_id, workspace)  # type: ignore[arg-type]


def wait_for(instance: DagsterInstance, run_ids: Sequence[str], timeout: float = 3600.0,
             poll: float = 1.0) -> list[DagsterRun]:
    """Block until every run has finished (success, failure or cancel); raises on the timeout."""
    deadline = time.monotonic() + timeout
    pending = list(run_ids)
    while True:
        runs = [instance.get_run_by_id(run_id) for run_id in pending]
        if all(run is not None and run.status in _FINISHED for run in runs):
            return [run for run in runs if run is not None]
        if time.monotonic() > deadline:
            states = {run.run_id[:8]: run.status.value for run in runs if run is not None}
            raise TimeoutError(f"runs not finished after {timeout:.0f}s: {states}")
        time.sleep(poll)


def wait_for_outcome(instance: DagsterInstance, run_id: str, timeout: float = 3600.0,
                     retry_wait: float = 120.0) -> DagsterRun:
    """The run's last attempt: a failed run the instance retries (``dagster.yaml`` run_retries) is
    followed to its retry, as a person following it in the UI would."""
    [run] = wait_for(instance, [run_id], timeout=timeout)
    deadline = time.monotonic() + retry_wait
    while run.status == DagsterRunStatus.FAILURE and time.monotonic() < deadline:
        run = instance.get_run_by_id(run.run_id) or run
        retry = run.tags.get(AUTO_RETRY_RUN_ID_TAG)
        if retry:
            return wait_for_outcome(instance, retry, timeout, retry_wait)
        if run.tags.get(WILL_RETRY_TAG) == "false":
            break
        time.sleep(1.0)
    return run


@contextmanager
def running_daemon(log_path: Path | None = None) -> Iterator[int]:
    """``dagster-daemon run`` on the current DAGSTER_HOME, stopped by pid (its process group) on exit."""
    daemon = Path(sys.executable).parent / "dagster-daemon"
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen([str(daemon), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
                               cwd=os.environ.get("DAGSTER_HOME"), stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log.info("dagster-daemon started (pid %d)", process.pid)
    try:
        yield process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # what the daemon started and left behind (a code server it spawned survives its SIGTERM)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if log_path:
            log_file.close()  # type: ignore[union-attr]


def daemon_is_running(instance: DagsterInstance, within_seconds: float = 60.0) -> bool:
    """Whether a dagster-daemon serves this instance already (a recent heartbeat, e.g. `make ui`'s)."""
    beats = instance.get_daemon_heartbeats().values()
    return any(time.time() - beat.timestamp < within_seconds for beat in beats)


@contextmanager
def serving_daemon(instance: DagsterInstance, workspace: object, keep: set[str],
                   log_path: Path | None = None) -> Iterator[int | None]:
    """A daemon for the caller's runs and sensors: the one already serving the instance (None; `make ui`'s),
    else one started here, with only the automation in ``keep`` running, stopped by pid afterwards."""
    if daemon_is_running(instance):
        yield None
        return
    with automation_paused(instance, workspace, keep), running_daemon(log_path) as pid:
        yield pid


@contextmanager
def automation_paused(instance: DagsterInstance, workspace: object, keep: set[str]) -> Iterator[list[str]]:
    """Stop every running schedule and sensor of the code location but ``keep`` while the caller runs,
    then hand each back to its own default (``reset``): a demo exercises the automation it shows,
    not a real-time refresh of today competing for the same two cores."""
    from dagster._cli.workspace.cli_target import (
        get_code_location_from_workspace,
        get_remote_repository_from_code_location,
    )

    repository = get_remote_repository_from_code_location(
        get_code_location_from_workspace(workspace, LOCATION), None)  # type: ignore[arg-type]
    stopped: list[object] = []
    for sensor in repository.get_sensors():
        state = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
        if sensor.name not in keep and sensor.get_current_instigator_state(state).is_running:
            instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            stopped.append(sensor)
    for schedule in repository.get_schedules():
        state = instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id)
        if schedule.name not in keep and schedule.get_current_instigator_state(state).is_running:
            instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
            stopped.append(schedule)
    try:
        yield [s.name for s in stopped]  # type: ignore[attr-defined]
    finally:
        for instigator in stopped:
            if hasattr(instigator, "min_interval_seconds"):
                instance.reset_sensor(instigator)  # type: ignore[arg-type]
            else:
                instance.reset_schedule(instigator)  # type: ignore[arg-type]


def await_sensor_run(instance: DagsterInstance, tags: Mapping[str, str], refused: Callable[[], str | None],
                     timeout: float = 300.0, poll: float = 1.0) -> DagsterRun | str:
    """The run a sensor launches for ``tags`` (e.g. a provisioning request's), or why none came."""
    from dagster import RunsFilter

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(RunsFilter(tags=dict(tags)), limit=1)
        if runs:
            return runs[0]
        reason = refused()
        if reason:
            return reason
        time.sleep(poll)
    return f"no run was launched within {timeout:.0f}s (is the sensor running? see the daemon's log)"
