"""Run the archive or the export in a child process and kill it with SIGKILL mid-way.

Children are forked from a multiprocessing fork server that has already imported the
platform (a cold interpreter needs seconds to import Dagster, pyarrow, ADBC and the
BigQuery client), so each crash costs a fraction of a second. A child dies either at a
named fault point (``PLATFORM_FAULT_POINTS``: it kills itself with SIGKILL there) or when
the parent sends SIGKILL after a random delay.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import Counter
from typing import Any

from datamove.faults import FAULT_POINTS_VARIABLE, reset_fault_counts

# Crashes the data survived, by area; printed in the terminal summary (see conftest.py).
SURVIVED: Counter[str] = Counter()

_PRELOAD = ["datamove.archive.archiver", "datamove.export",
            "orchestration.lib.resources"]


def _child(kind: str, fault_points: str | None, kwargs: dict[str, Any]) -> None:
    logging.disable(logging.CRITICAL)
    if fault_points:
        os.environ[FAULT_POINTS_VARIABLE] = fault_points
    else:
        os.environ.pop(FAULT_POINTS_VARIABLE, None)
    reset_fault_counts()
    if kind == "archive":
        from datamove.archive.archiver import archive_month

        archive_month(**kwargs)
    elif kind == "restore":
        from datamove.archive.archiver import restore_month

        restore_month(**kwargs)
    elif kind == "export":
        from datamove.bigquery import make_client
        from datamove.export import export_day
        from datamove.export_specs import EXPORTS

        options = dict(kwargs)
        client = make_client(options.pop("project"), options.pop("location"), options.pop("endpoint"))
        export_day(EXPORTS[options.pop("export")], client=client, **options)
    else:
        raise ValueError(kind)


class CrashRunner:
    def __init__(self) -> None:
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(_PRELOAD)

    def _start(self, kind: str, fault_points: str | None, kwargs: dict[str, Any]) -> Any:
        process = self.context.Process(target=_child, args=(kind, fault_points, kwargs), daemon=True)
        process.start()
        return process

    def crash_at(self, kind: str, point: str, **kwargs: Any) -> bool:
        """Run until ``point`` (``name`` or ``name:N``); True when the child died there by SIGKILL."""
        process = self._start(kind, point, kwargs)
        process.join(timeout=180)
        if process.is_alive():
            process.kill()
            process.join()
            raise TimeoutError(f"{kind} child did not reach {point} nor finish")
        return process.exitcode == -signal.SIGKILL

    def crash_after(self, kind: str, seconds: float, **kwargs: Any) -> bool:
        """SIGKILL the child after ``seconds``; True when it was still running (a real crash)."""
        process = self._start(kind, None, kwargs)
        process.join(timeout=seconds)
        if not process.is_alive():
            return False
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        return True
