"""Run workers forked from a warm server instead of started cold.

A run launched through the code server (the daemon's queue, a schedule, a sensor, the UI's
"Materialize") gets a worker process of its own. Dagster's code server starts it with
multiprocessing's ``spawn``: a new interpreter that imports Dagster and the code location
(4.5 s), then, in the run's first steps, what the steps import or build lazily so that the code
location loads fast: Great Expectations (2-3 s), dbt's adapter (1.8 s), Dagster's PostgreSQL
storage. Every run pays that again: every real-time refresh, every provisioning run, every day of
the daily job.

``fork_run_workers_from_warm_server()`` gives the code server multiprocessing's ``forkserver``
instead: a server process started beside the code server imports and prepares all of that once
(``run_worker_warmup.py``), and each run's worker is a fork of it (milliseconds). The worker is
still a process of its own: its pid, its exit code, termination and the run monitor's health
check (``run_launcher.py``) work as before.

What a forked worker runs is the code the server imported when the code server loaded the code
location, so reloading the code location (the UI's "Reload", a restart) is what picks up an
edit, as it is for what the UI shows: Python code and what it builds at import (the quality
rules and their payload schemas). dbt's SQL is read by dbt at run time.

``PLATFORM_RUN_WORKERS=spawn`` keeps Dagster's own way (a code server whose runs are launched
elsewhere, as Kubernetes Jobs by ``K8sRunLauncher``, needs no warm server: ``deploy/Dockerfile``
sets it); ``warm``, the default, forks.

The code server's choice of context is not configurable in Dagster (``DagsterApiServer`` sets
``self._mp_ctx = multiprocessing.get_context("spawn")``); this module replaces that one attribute
with a property on the class, in the code server process only, and leaves everything else of the
server as it is. If a Dagster release renames it, the code server keeps spawning (logged).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from types import CodeType, FrameType

log = logging.getLogger(__name__)

MODE_VARIABLE = "PLATFORM_RUN_WORKERS"

WARM_MODULES = (
    "orchestration.definitions",
    # what the steps import or build lazily, so that loading the code location stays fast
    "orchestration.lib.run_worker_warmup",
    "dagster_postgres",
)
"""What the warm server imports once; every run worker is a fork of it."""


def _loading_in(init_code: CodeType) -> bool:
    """Whether this call happens inside ``init_code`` (a code server's ``__init__`` loads the code)."""
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code is init_code:
            return True
        frame = frame.f_back
    return False


def fork_run_workers_from_warm_server(modules: tuple[str, ...] = WARM_MODULES) -> bool:
    """In a code server, start run workers as forks of a server that has imported ``modules`` (the
    code location first); elsewhere, do nothing.

    Returns whether this process's code server now forks its run workers."""
    from dagster._grpc.server import DagsterApiServer

    mode = os.environ.get(MODE_VARIABLE, "warm")
    if mode not in ("warm", "spawn"):
        raise ValueError(f"{MODE_VARIABLE}={mode!r}: 'warm' (run workers forked from a warm server, the "
                         "default) or 'spawn' (Dagster's own: a new interpreter per run)")
    if mode == "spawn":
        return False
    if isinstance(DagsterApiServer.__dict__.get("_mp_ctx"), property):
        return True
    init_code = DagsterApiServer.__init__.__code__
    if not _loading_in(init_code):
        return False
    if "_mp_ctx" in init_code.co_names:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(modules))
        DagsterApiServer._mp_ctx = property(  # type: ignore[assignment]
            lambda _server: context, lambda _server, _spawn: None)
        # start the warm server now, beside the code server's start, not in the first run's time
        threading.Thread(target=_start_warm_server, name="warm-run-worker-server", daemon=True).start()
        return True
    log.warning("Dagster's code server no longer has _mp_ctx: run workers are spawned cold")
    return False


def _start_warm_server() -> None:
    from multiprocessing import forkserver

    try:
        forkserver.ensure_running()
    except Exception:  # the first run starts it instead (and reports what fails)
        log.exception("could not start the warm server for run workers")
