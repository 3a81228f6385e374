"""Run a data movement in a child process and kill it with SIGKILL mid-way: one runner for the session.

Children are forked from a multiprocessing fork server that has already imported the
platform (a cold interpreter needs seconds to import Dagster, pyarrow, ADBC and the
BigQuery client), so each crash costs a fraction of a second. A child dies either at a
named fault point (``PLATFORM_FAULT_POINTS``: it kills itself with SIGKILL there) or when
the parent sends SIGKILL after a random delay. The areas: ``archive``, ``restore``,
``export``, ``extract`` (the raw load of several tables, with the platform's load policy),
``scorecard`` (a day of ``quality.scorecard``), ``alerts`` (the budget alerts of a day),
``provisioning_cleanup`` and ``orphans`` (housekeeping).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import Counter
from typing import Any

from datamove.faults import FAULT_POINTS_VARIABLE, reset_fault_counts

# Crashes the data survived, by area; printed in the terminal summary (tests/conftest.py).
SURVIVED: Counter[str] = Counter()

_PRELOAD = ["datamove.archive.archiver", "datamove.export", "datamove.extract", "quality.quarantine",
            "quality.scorecard", "quality.alerts", "orchestration.lib.resources", "orchestration.defs.raw.assets",
            "agents.provisioning.cleanup", "datamove.housekeeping.orphans"]


def _extract(tables: list[str], app_dsn: str, warehouse_dsn: str, window: Any) -> None:
    from datamove.extract import extract_table
    from foundation.catalog import SOURCE_TABLES_BY_NAME
    from orchestration.defs.raw.assets import RAW_LOAD_POLICY

    for name in tables:
        table = SOURCE_TABLES_BY_NAME[name]
        extract_table(table, app_dsn, warehouse_dsn, window if table.partitioned else None, policy=RAW_LOAD_POLICY)


def _alerts(warehouse_dsn: str, day: Any) -> None:
    from datetime import timedelta

    import psycopg

    from foundation.settings import now
    from quality.alerts import raise_budget_alerts

    with psycopg.connect(warehouse_dsn) as conn:  # commits on leaving, as the asset's connection does
        raise_budget_alerts(conn, day, day + timedelta(days=1), now())


def _with_client(kwargs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The child's BigQuery client from its ``project``/``location``/``endpoint``, and the other arguments."""
    from datamove.bigquery import make_client

    options = dict(kwargs)
    return options, make_client(options.pop("project"), options.pop("location"), options.pop("endpoint"))


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
        from datamove.export import export_day
        from datamove.export_specs import EXPORTS

        options, client = _with_client(kwargs)
        export_day(EXPORTS[options.pop("export")], client=client, **options)
    elif kind == "extract":
        _extract(**kwargs)
    elif kind == "scorecard":
        from quality.scorecard import compute_scorecard

        compute_scorecard(**kwargs)
    elif kind == "alerts":
        _alerts(**kwargs)
    elif kind == "provisioning_cleanup":
        from agents.provisioning.cleanup import clean_up_provisioning

        options, client = _with_client(kwargs)
        clean_up_provisioning(client=client, **options)
    elif kind == "orphans":
        from datamove.housekeeping.orphans import sweep_orphans

        sweep_orphans(**kwargs)
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

    def run(self, kind: str, **kwargs: Any) -> int:
        """Run to the end, no fault armed; the child's exit code (0: it finished)."""
        process = self._start(kind, None, kwargs)
        process.join(timeout=180)
        if process.is_alive():
            process.kill()
            process.join()
            raise TimeoutError(f"{kind} child did not finish")
        return int(process.exitcode or 0)

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
