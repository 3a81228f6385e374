"""The embedded BigQuery: a local ``bqemulator`` process speaking the BigQuery REST API.

It runs ``python -m orchestration.stack.bigquery_server`` (bqemulator with its
network-only start-up step made optional) and keeps everything under
``<PLATFORM_HOME>/bigquery/``:

- ``data/bqemulator.duckdb``: the tables (persistent: data survives a restart);
- ``emulator.pid``: the pid of the process we started; ``emulator.json``: its ports;
- ``emulator.log``: its output; ``emulator.endpoint``: the last endpoint, kept after a
  stop so a restart reuses the same port and recognises a stale BIGQUERY_API_ENDPOINT.

The official client reaches it with ``AnonymousCredentials`` and
``client_options={"api_endpoint": ...}`` (see ``resource.py``). Nothing here runs when
BIGQUERY_API_ENDPOINT points at another emulator.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from foundation.settings import REPO_ROOT, Settings, load_settings

log = logging.getLogger(__name__)

EMULATOR_MODULE = "orchestration.stack.bigquery_server"
ENDPOINT_VARIABLE = "BIGQUERY_API_ENDPOINT"
_HOST = "127.0.0.1"
# Health probes go straight to loopback, never through a configured HTTP proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Processes started by this interpreter: waited on at stop so they do not linger as zombies.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class EmulatorPaths:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def pid_file(self) -> Path:
        return self.root / "emulator.pid"

    @property
    def state_file(self) -> Path:
        return self.root / "emulator.json"

    @property
    def endpoint_file(self) -> Path:
        return self.root / "emulator.endpoint"

    @property
    def log_file(self) -> Path:
        return self.root / "emulator.log"

    @property
    def lock_file(self) -> Path:
        return self.root / "emulator.lock"


def emulator_paths(settings: Settings) -> EmulatorPaths:
    return EmulatorPaths(settings.home / "bigquery")


def _read_pid(paths: EmulatorPaths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie (exited, not yet reaped) answers kill(0) but is gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, IndexError):
        return not Path("/proc/self").exists()  # no /proc: trust kill(0)


def _is_our_emulator(pid: int, paths: EmulatorPaths) -> bool:
    """Guard against pid reuse: the process must be our launcher for this data folder."""
    if not _is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    args = [a.decode(errors="replace") for a in cmdline]
    return EMULATOR_MODULE in args and str(paths.root) in args


def _healthy(endpoint: str, timeout: float = 2.0) -> bool:
    try:
        with _DIRECT.open(f"{endpoint}/healthz", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _running_endpoint(paths: EmulatorPaths) -> str | None:
    """The endpoint of our emulator when its pid is alive and it answers the health probe."""
    pid = _read_pid(paths)
    if pid is None or not _is_our_emulator(pid, paths):
        return None
    try:
        state = json.loads(paths.state_file.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if state.get("pid") != pid:
        return None
    endpoint = f"http://{_HOST}:{state['rest_port']}"
    return endpoint if _healthy(endpoint) else None


def running_emulator(settings: Settings | None = None) -> str | None:
    """The endpoint of the emulator started under this PLATFORM_HOME, if it is up."""
    return _running_endpoint(emulator_paths(settings or load_settings()))


@contextmanager
def _locked(paths: EmulatorPaths) -> Iterator[None]:
    """Serialise start/stop across processes (parallel Dagster steps may all call ensure)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _previous_port(paths: EmulatorPaths) -> int:
    """The last port we used if it is free now (a stable endpoint across restarts), else 0."""
    try:
        port = urlsplit(paths.endpoint_file.read_text().strip()).port or 0
    except (FileNotFoundError, ValueError):
        return 0
    if not port:
        return 0
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((_HOST, port))
        except OSError:
            return 0
    return port


def _log_tail(paths: EmulatorPaths, lines: int = 20) -> str:
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _start(paths: EmulatorPaths, project: str, timeout: float) -> str:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.state_file.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", EMULATOR_MODULE,
        "--data-dir", str(paths.root),
        "--project", project,
        "--state-file", str(paths.state_file),
        "--port", str(_previous_port(paths)),
    ]  # fmt: skip
    # bqemulator reads BQEMU_* variables and ./.bqemu.toml: only our flags should count.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BQEMU_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with paths.log_file.open("ab") as log_handle:
        # New session: the emulator outlives the caller and ignores its terminal's Ctrl-C,
        # like the embedded PostgreSQL; it is stopped by pid with stop_emulator().
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command, cwd=paths.root, env=env, stdin=subprocess.DEVNULL,
            stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    _CHILDREN[process.pid] = process
    paths.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise RuntimeError(
                f"BigQuery emulator exited with code {process.returncode} at start-up; "
                f"log {paths.log_file}:\n{_log_tail(paths)}"
            )
        endpoint = _running_endpoint(paths)
        if endpoint:
            paths.endpoint_file.write_text(f"{endpoint}\n")
            log.info("BigQuery emulator started (pid %s) at %s", process.pid, endpoint)
            return endpoint
        time.sleep(0.1)
    _terminate(process.pid, paths, timeout=10.0)
    raise RuntimeError(
        f"BigQuery emulator did not become healthy within {timeout}s; "
        f"log {paths.log_file}:\n{_log_tail(paths)}"
    )


def ensure_emulator(settings: Settings | None = None, timeout: float = 60.0) -> str:
    """Start (or reuse) the local emulator; returns its endpoint and exports BIGQUERY_API_ENDPOINT.

    A BIGQUERY_API_ENDPOINT that is not one of ours (another emulator) is returned as is.
    """
    settings = settings or load_settings()
    paths = emulator_paths(settings)
    with _locked(paths):
        configured = settings.bigquery_endpoint
        ours = paths.endpoint_file.read_text().strip() if paths.endpoint_file.exists() else None
        if configured and configured.rstrip("/") != ours:
            log.info("BIGQUERY_API_ENDPOINT is set to another emulator; not starting ours")
            return configured
        endpoint = _running_endpoint(paths)
        if endpoint:
            log.debug("Reusing the BigQuery emulator at %s", endpoint)
        else:
            endpoint = _start(paths, settings.bigquery_project, timeout)
    os.environ[ENDPOINT_VARIABLE] = endpoint
    return endpoint


def _terminate(pid: int, paths: EmulatorPaths, timeout: float) -> None:
    """SIGTERM (bqemulator closes DuckDB cleanly), then SIGKILL after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        child = _CHILDREN.get(pid)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if child is not None and child.poll() is not None:
                break
            if child is None and not _is_alive(pid):
                break
            time.sleep(0.1)
        else:
            log.warning("BigQuery emulator (pid %s) ignored %s", pid, sig.name)
            continue
        break
    _CHILDREN.pop(pid, None)
    paths.pid_file.unlink(missing_ok=True)
    paths.state_file.unlink(missing_ok=True)


def stop_emulator(settings: Settings | None = None, timeout: float = 30.0) -> bool:
    """Stop the emulator started under this PLATFORM_HOME, by its pid; False when none was running."""
    settings = settings or load_settings()
    paths = emulator_paths(settings)
    with _locked(paths):
        pid = _read_pid(paths)
        if pid is None or not _is_our_emulator(pid, paths):
            paths.pid_file.unlink(missing_ok=True)
            paths.state_file.unlink(missing_ok=True)
            return False
        _terminate(pid, paths, timeout)
        ours = paths.endpoint_file.read_text().strip() if paths.endpoint_file.exists() else None
    if ours and os.environ.get(ENDPOINT_VARIABLE, "").rstrip("/") == ours:
        del os.environ[ENDPOINT_VARIABLE]
    log.info("BigQuery emulator (pid %s) stopped", pid)
    return True
