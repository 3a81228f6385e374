"""Run the ``bqemulator`` BigQuery emulator offline: ``python -m orchestration.stack.bigquery_server``.

bqemulator 1.4 runs ``INSTALL spatial`` at start-up and refuses to start when the DuckDB
extension repository is unreachable (no pip-packaged spatial build matches duckdb 2.x).
This launcher patches that one start-up hook at runtime so spatial becomes optional
(GEOGRAPHY is then unsupported; nothing in the platform uses it), then runs bqemulator's
own ``EmulatorServer``. Once both servers are bound it writes a small JSON state file
(pid and the real ports), so the parent never has to guess a free port.

It also makes the emulator honour a query job's ``jobTimeoutMs`` (bqemulator ignores it):
the job's DuckDB query is interrupted when the time is up and the job fails with a timeout
error, so one runaway query (a generated golden query, say) blocks the emulator, which runs
one query at a time on one event loop, for at most its own timeout.

Only ``emulator.py`` is meant to start this module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from bqemulator.api.routes import jobs as job_routes
from bqemulator.config import LogFormat, LogLevel, PersistenceMode, Settings
from bqemulator.domain.errors import InvalidQueryError
from bqemulator.server import EmulatorServer
from bqemulator.storage.engine import DuckDBEngine

log = logging.getLogger("orchestration.stack.bigquery_server")


def _load_spatial_if_present(self: DuckDBEngine) -> None:
    """Replacement for ``DuckDBEngine._load_spatial``: never reach for the network."""
    conn = self.connection
    # Offline machine: a query that needs an extension must fail fast, not hang on a download.
    conn.execute("SET autoinstall_known_extensions = false")
    try:
        conn.execute("LOAD spatial")  # works when the extension is already in the local cache
    except Exception as exc:  # noqa: BLE001 - any failure just means "no GEOGRAPHY"
        log.warning("DuckDB spatial extension not available (%s); GEOGRAPHY is unsupported", exc)


def patch_offline() -> None:
    DuckDBEngine._load_spatial = _load_spatial_if_present  # type: ignore[method-assign]


# The running job's timeout in seconds: set around a query job, read where DuckDB runs it
# (the same asyncio task, so a context variable carries it through bqemulator's layers).
_JOB_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("job_timeout", default=None)


def _job_timeout_seconds(config: dict[str, Any]) -> float | None:
    try:
        value = float(config.get("jobTimeoutMs") or 0) / 1000
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


class _Interrupter:
    """Interrupts the connection's query after ``seconds`` unless stopped first (under a lock,
    so an interrupt never lands on the next query)."""

    def __init__(self, connection: Any, seconds: float) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._running = True
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._running:
                self.fired = True
                self._connection.interrupt()

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._running = False


def patch_job_timeout() -> None:
    handle_query_job = job_routes._handle_query_job
    fetch_arrow = DuckDBEngine.fetch_arrow

    async def handle_with_timeout(project_id: str, job_id: str, config: dict[str, Any], **kwargs: Any) -> Any:
        token = _JOB_TIMEOUT.set(_job_timeout_seconds(config))
        try:
            return await handle_query_job(project_id, job_id, config, **kwargs)
        finally:
            _JOB_TIMEOUT.reset(token)

    def fetch_with_timeout(self: DuckDBEngine, sql: str, parameters: list[Any] | None = None) -> Any:
        seconds = _JOB_TIMEOUT.get()
        if seconds is None:
            return fetch_arrow(self, sql, parameters)
        interrupter = _Interrupter(self.connection, seconds)
        try:
            return fetch_arrow(self, sql, parameters)
        except Exception as error:
            if interrupter.fired:
                raise InvalidQueryError(f"Job timed out after {seconds:g} s (jobTimeoutMs); "
                                        "the emulator interrupted the query") from error
            raise
        finally:
            interrupter.stop()

    job_routes._handle_query_job = handle_with_timeout
    DuckDBEngine.fetch_arrow = fetch_with_timeout  # type: ignore[method-assign]


def emulator_settings(data_dir: Path, project: str, port: int = 0) -> Settings:
    return Settings(
        rest_host="127.0.0.1",
        rest_port=port,
        grpc_host="127.0.0.1",
        grpc_port=0,
        persistence_mode=PersistenceMode.PERSISTENT,
        data_dir=data_dir / "data",
        default_project_id=project,
        gcs_local_root=data_dir / "gcs",
        upload_staging_dir=data_dir / "uploads",
        # The avro extension would also be downloaded at start-up; we load Parquet only.
        enable_format_extensions=False,
        log_format=LogFormat.JSON,
        # INFO logs one line per HTTP request; errors go back to the client anyway.
        log_level=LogLevel.WARNING,
    )


async def _serve(settings: Settings, state_file: Path) -> None:
    server = EmulatorServer(settings)
    await server.start()
    state = {"pid": os.getpid(), "rest_port": server.rest_port, "grpc_port": server.grpc_port}
    # Write then rename: a reader never sees a half-written file.
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(state_file)
    log.info("bqemulator serving REST on port %s, gRPC on %s", server.rest_port, server.grpc_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        state_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0, help="REST port (0: any free port)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    patch_offline()
    patch_job_timeout()
    asyncio.run(_serve(emulator_settings(args.data_dir, args.project, args.port), args.state_file))


if __name__ == "__main__":
    main()
