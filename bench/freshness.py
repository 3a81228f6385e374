"""Benchmark: how long a row written to the app database takes to reach raw and the real-time marts,
with the platform running by itself (the daemon, its sensors and the queued runs), as after `make ui`.

Set-up (not timed): an embedded stack in a temporary folder, ``--days`` of simulated history, the
daily pipeline over that history as one range run, dbt's manifest parsed for the warehouse, then a
real ``dagster-daemon``. Timed: for ``--minutes``, the simulator's live mode appends a batch of
tasks, chat messages and LLM calls every ``--interval`` seconds; the bench samples every batch and
records when it becomes visible in raw (every row of the batch, or its quarantine, is loaded) and in
the hourly mart (``agent_metrics_hourly`` counts every message of the batch). After the writes stop
it waits ``--grace`` seconds for the last batches.

    .venv/bin/python bench/freshness.py [--minutes 10] [--interval 5] [--scale tiny]

Last line: one JSON object with ``p50_seconds``/``p95_seconds`` (write -> hourly mart, target p95 <
300, goal < 120), ``raw_p50_seconds``/``raw_p95_seconds``, ``rows_checked``, ``rows_missing`` (must be
0), ``refresh_runs`` and their median duration, and ``sensor_tick_gap_seconds``: the seconds between
the real-time sensor's ticks as the daemon ran them (declared every 30 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._home import fresh_platform_home  # noqa: E402 - stdlib only, before the project

log = logging.getLogger("bench.freshness")


@dataclass
class Batch:
    written: float
    day: str
    max_task: int
    max_message: int
    tasks: int
    messages: int
    in_raw: float | None = None
    in_mart: float | None = None


@dataclass
class Writer:
    app_dsn: str
    interval: float
    batches: list[Batch] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import numpy as np
        import psycopg

        from foundation.settings import today
        from orchestration.simulator.live import append_batch

        tick = 0
        with psycopg.connect(self.app_dsn) as conn:
            while not self.stop.is_set():
                added = append_batch(conn, np.random.default_rng([7, 1_000_003, tick]), tasks=4, messages=3)
                max_task = conn.execute("SELECT max(id) FROM tasks").fetchone()[0]  # type: ignore[index]
                max_message = conn.execute("SELECT max(id) FROM chat_messages").fetchone()[0]  # type: ignore[index]
                self.batches.append(Batch(time.time(), today().isoformat(), int(max_task), int(max_message),
                                          added["tasks"], added["chat_messages"]))
                tick += 1
                self.stop.wait(self.interval)


def observe(batches: list[Batch], warehouse_dsn: str) -> None:
    """Stamp every pending batch visible now in raw and in the hourly mart."""
    import psycopg

    pending = [b for b in batches if b.in_mart is None]
    if not pending:
        return
    now = time.time()
    with psycopg.connect(warehouse_dsn) as conn:
        for batch in pending:
            if batch.in_raw is None:
                loaded = conn.execute(
                    "SELECT (SELECT count(*) FROM raw.tasks WHERE id <= %(t)s AND _partition_date = %(d)s)"
                    " + coalesce((SELECT count(*) FROM quarantine.tasks WHERE id <= %(t)s AND _partition_date = %(d)s), 0),"
                    " (SELECT max(id) FROM raw.chat_messages WHERE _partition_date = %(d)s)",
                    {"t": batch.max_task, "d": batch.day}).fetchone()
                if loaded and loaded[1] is not None and loaded[1] >= batch.max_message:
                    batch.in_raw = now
            if batch.in_raw is not None:
                # every raw message of the day up to the batch's last one is counted by the hourly mart
                counted, expected = conn.execute(
                    "SELECT (SELECT coalesce(sum(total_messages), 0) FROM marts.agent_metrics_hourly WHERE day = %(d)s),"
                    " (SELECT count(*) FROM staging.stg_agentgrid__chat_messages AS m"
                    "  JOIN staging.stg_agentgrid__chat_sessions AS s USING (session_id)"
                    "  WHERE m.created_at >= %(d)s::date AND m.message_id <= %(m)s)",
                    {"d": batch.day, "m": batch.max_message}).fetchone()  # type: ignore[misc]
                if counted >= expected:
                    batch.in_mart = now


def sensor_tick_gaps(instance: Any, name: str, after: float) -> list[float]:
    """Seconds between a sensor's consecutive ticks since ``after``, read from the instance."""
    from dagster._core.definitions.run_request import InstigatorType

    stamps: list[float] = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == name:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after, limit=10_000)
            stamps += [tick.timestamp for tick in ticks]
    stamps.sort()
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long rows are written")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between written batches")
    parser.add_argument("--grace", type=float, default=300.0, help="seconds to wait for the last batches")
    parser.add_argument("--scale", default="tiny", help="simulator scale of the history")
    parser.add_argument("--days", type=int, default=3, help="days of history")
    options = parser.parse_args()
    home = fresh_platform_home("bfresh-")

    from dagster import DagsterInstance, RunsFilter

    from bench.daily import run_job, simulated_history
    from foundation.settings import today
    from orchestration.cli.launch import RunRequest, code_location, running_daemon, serving_daemon
    from orchestration.stack.control import stack_down, stack_up

    settings = stack_up()
    assert settings.app_dsn and settings.warehouse_dsn
    end = today()
    report: dict[str, object] = {"minutes": options.minutes, "interval_seconds": options.interval,
                                 "scale": options.scale}
    writer = Writer(settings.app_dsn, options.interval)
    try:
        simulated_history(settings.app_dsn, scale=options.scale, days=options.days, end=end)
        with DagsterInstance.get() as instance:
            # the history alone: the real-time sensor starts with the measurement, not beside the range run
            with code_location(instance) as workspace, \
                    serving_daemon(instance, workspace, keep=set(), log_path=home / "daemon-setup.log"):
                run_job(instance, RunRequest("daily_pipeline_job", window=(end - timedelta(days=options.days), end)))
            started = time.time()
            with running_daemon(home / "daemon.log"):  # its sensors start running by default
                thread = threading.Thread(target=writer.run, daemon=True)
                thread.start()
                deadline = started + options.minutes * 60
                while time.time() < deadline:
                    observe(writer.batches, settings.warehouse_dsn)
                    time.sleep(2)
                writer.stop.set()
                thread.join()
                grace_end = time.time() + options.grace
                while time.time() < grace_end and any(b.in_mart is None for b in writer.batches):
                    observe(writer.batches, settings.warehouse_dsn)
                    time.sleep(2)
            gaps = sensor_tick_gaps(instance, "realtime_sensor", after=started)
            runs = instance.get_runs(RunsFilter(job_name="realtime_refresh_job", created_after=None))
            durations = []
            for run in runs:
                stats = instance.get_run_stats(run.run_id)
                if stats.start_time and stats.end_time:
                    durations.append(stats.end_time - stats.start_time)
        mart = [b.in_mart - b.written for b in writer.batches if b.in_mart is not None]
        raw = [b.in_raw - b.written for b in writer.batches if b.in_raw is not None]
        report.update({
            "p50_seconds": percentile(mart, 0.5), "p95_seconds": percentile(mart, 0.95),
            "raw_p50_seconds": percentile(raw, 0.5), "raw_p95_seconds": percentile(raw, 0.95),
            "batches": len(writer.batches),
            "rows_checked": sum(b.tasks + 2 * b.messages for b in writer.batches),
            "rows_missing": sum(b.tasks + 2 * b.messages for b in writer.batches if b.in_mart is None),
            "refresh_runs": len(runs),
            "refresh_run_median_seconds": round(statistics.median(durations), 1) if durations else None,
            # seconds between the real-time sensor's ticks with the real daemon (it is declared every 30 s)
            "sensor_tick_gap_seconds": {"median": round(statistics.median(gaps), 1) if gaps else None,
                                        "max": round(max(gaps), 1) if gaps else None, "gaps": len(gaps)},
        })
    finally:
        writer.stop.set()
        stack_down()
        shutil.rmtree(home, ignore_errors=True)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
