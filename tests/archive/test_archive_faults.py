"""SIGKILL at every step of archive, restore and the cold move: no row is ever lost or counted twice.

After each crash the invariant is checked (the rows PostgreSQL holds for the month plus the
rows of the Parquet files the manifest counts are exactly the source rows), then the
operation is run again in-process and must finish the job.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from datamove.archive.archiver import archive_month, restore_month
from datamove.archive.policy import next_month
from tests.archive.conftest import WARM_SHIFTS
from tests.archive.scratch import ScratchWarehouse, archived_rows, counted_rows, files_under, raw_rows
from tests.crash import SURVIVED, CrashRunner

ARCHIVE_POINTS = ["archive.batch_written", "archive.written", "archive.verified", "archive.published",
                  "archive.before_commit", "archive.committed", "archive.manifest_written"]
RESTORE_POINTS = ["restore.copied", "restore.before_commit", "restore.committed", "archive.leftover_removed"]
COLD_POINTS = ["cold.written", "cold.published", "cold.before_commit", "cold.committed",
               "archive.manifest_written", "archive.leftover_removed"]
RANDOM_KILLS = 6


def test_sigkill_at_every_archive_and_restore_step(scratch: ScratchWarehouse, archive_url: str,
                                                   crash_runner: CrashRunner) -> None:
    table, month = "tasks", scratch.months("tasks", WARM_SHIFTS[0])[0]
    source = counted_rows(scratch.dsn, archive_url, table, month)
    args = {"table": table, "month": month, "warehouse_dsn": scratch.dsn, "archive_url": archive_url}
    crashes = 0
    for i, point in enumerate(ARCHIVE_POINTS):
        assert crash_runner.crash_at("archive", point, **args), point
        crashes += 1
        assert counted_rows(scratch.dsn, archive_url, table, month) == source, f"after a crash at {point}"
        assert archive_month(**args).action in ("archived", "already_archived")
        assert raw_rows(scratch.dsn, table, month) == [] and archived_rows(scratch.dsn, archive_url, table,
                                                                           month) == source

        restore_point = RESTORE_POINTS[i % len(RESTORE_POINTS)]
        assert crash_runner.crash_at("restore", restore_point, **args), restore_point
        crashes += 1
        assert counted_rows(scratch.dsn, archive_url, table, month) == source, f"after a crash at {restore_point}"
        restore_month(**args)
        assert raw_rows(scratch.dsn, table, month) == source and files_under(archive_url) == []
    SURVIVED["archive"] += crashes


def test_sigkill_at_random_moments(scratch: ScratchWarehouse, archive_url: str, crash_runner: CrashRunner) -> None:
    table, month = "chat_messages", scratch.months("chat_messages", WARM_SHIFTS[1])[0]
    source = counted_rows(scratch.dsn, archive_url, table, month)
    args = {"table": table, "month": month, "warehouse_dsn": scratch.dsn, "archive_url": archive_url}
    chance = random.Random(20240601)
    duration = {"archive": 0.5, "restore": 0.5}  # of an uninterrupted run, learnt as we go
    crashes = attempts = 0
    while crashes < RANDOM_KILLS and attempts < 8 * RANDOM_KILLS:
        attempts += 1
        kind = "archive" if raw_rows(scratch.dsn, table, month) else "restore"
        if crash_runner.crash_after(kind, chance.uniform(0.01, duration[kind]), **args):
            crashes += 1
        assert counted_rows(scratch.dsn, archive_url, table, month) == source, f"{kind} killed at random"
        started = time.perf_counter()
        (archive_month if kind == "archive" else restore_month)(**args)  # finish what was interrupted
        duration[kind] = max(0.05, time.perf_counter() - started)
        assert counted_rows(scratch.dsn, archive_url, table, month) == source
    assert crashes == RANDOM_KILLS
    SURVIVED["archive"] += crashes


def test_sigkill_while_moving_a_month_to_cold(scratch: ScratchWarehouse, archive_url: str,
                                              crash_runner: CrashRunner) -> None:
    table, month = "llm_usage", scratch.months("llm_usage", WARM_SHIFTS[0])[-1]
    source = counted_rows(scratch.dsn, archive_url, table, month)
    args = {"table": table, "month": month, "warehouse_dsn": scratch.dsn, "archive_url": archive_url}
    later = next_month(month) + timedelta(days=800)
    crashes = 0
    for point in COLD_POINTS:
        assert archive_month(**args).tier == "warm"
        assert crash_runner.crash_at("archive", point, today=later, **args), point
        crashes += 1
        assert counted_rows(scratch.dsn, archive_url, table, month) == source, f"after a crash at {point}"
        outcome = archive_month(today=later, **args)
        assert outcome.tier == "cold" and archived_rows(scratch.dsn, archive_url, table, month) == source
        assert [f for f in files_under(archive_url) if "/llm_usage/" in f and f.startswith("warm/")] == []
        restore_month(**args)  # back to PostgreSQL, to be archived warm again
    SURVIVED["archive"] += crashes
