"""The local run launcher: Dagster's own (a run worker process per run, started by the code
server), which can also tell the run monitor whether a run's worker is still alive.

Without that, a run whose worker died with its code server (``make ui`` stopped mid-run, a machine
restart, a killed daemon) stays STARTED for ever, and every queue limit it holds holds for ever:
``platform/dbt`` would stop the daily pipeline and the real-time tier together. (A worker killed
while its code server lives is failed by the code server itself within a second.) With this
launcher, ``run_monitoring`` in ``dagster.yaml`` fails such a run at its next poll and
``run_retries`` runs it again.

A worker is judged only where it can be: a run this launcher started through a code server on this
machine, whose worker reported its pid ("Started process for run (pid: N)"). Every other run (run in
process by ``dagster job execute``, or on another host) is reported running: the monitor fails runs
it is told are not, and not knowing is not that. A pid taken again by another process after a
restart reads as alive: the run then stays as it was without this launcher.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRun, DefaultRunLauncher
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

_STARTED_PROCESS = "Started process for run"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", socket.gethostname()}


def worker_pid(instance: DagsterInstance, run: DagsterRun) -> int | None:
    """The pid the run's worker reported when it started, or None (not yet, or not a worker's run)."""
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=20, ascending=True).records
    for record in records:
        entry = record.event_log_entry
        if entry.message.startswith(_STARTED_PROCESS) and entry.dagster_event is not None:
            pid = entry.dagster_event.engine_event_data.metadata.get("pid")
            if pid is not None:
                return int(str(pid.value))
    return None


def process_alive(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether ``pid`` is a live process (a zombie, killed and not yet reaped, is not). A process this
    user may not look at counts as alive: not knowing is not dead."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    state = stat.rsplit(")", 1)[-1].split()[0]  # the name in parentheses may hold spaces
    return state not in {"Z", "X"}


def launched_here(run: DagsterRun) -> bool:
    """Whether the run was launched through a code server on this machine (by a socket or a local host)."""
    info = run.tags.get(GRPC_INFO_TAG)
    if not info:
        return False
    grpc = json.loads(info)
    return "socket" in grpc or grpc.get("host") in _LOCAL_HOSTS


class LocalRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher, with a run worker health check for ``run_monitoring``."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        if not launched_here(run):
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched through a code server on this machine")
        pid = worker_pid(self._instance, run)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run worker has not reported its pid yet")
        if process_alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker {pid} is alive")
        return CheckRunHealthResult(WorkerStatus.FAILED,
                                    f"run worker {pid} is gone and the run never finished (its code server "
                                    "stopped with it, or the machine restarted)")
