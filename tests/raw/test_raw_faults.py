"""SIGKILL during the raw load: every partitioned table's day is its previous content or the source's,
never a mix, never a row twice.

A child process (the session's crash runner) loads one day of every partitioned table, in catalog
order, with the platform's load policy (the quarantine step included), and dies at a named fault
point of the extraction or the quarantine, or at a random moment. Before each kill the source day
changes, so "previous" and "source" differ for every table; after it, each table's raw plus
quarantine must fingerprint as one of the two, and a re-run must bring every table to the source.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import psycopg
import pytest

from datamove.extract import extract_table
from foundation.catalog import PARTITIONED_TABLES, Window
from orchestration.defs.raw.assets import RAW_LOAD_POLICY
from tests.crash import SURVIVED, CrashRunner
from tests.fingerprints import Fingerprint, duplicated_keys, loaded_fingerprint, source_fingerprint
from tests.simulations import Simulated, Simulations, quality_profile

# (point, hit): the hit picks the table, counting the point's calls in catalog order (eleven tables;
# the quarantine's points run once per table, "moved" only where a table has quarantine rules).
POINTS = [("extract.window_deleted", 1), ("extract.chunk_written", 2), ("extract.copied", 4),
          ("quarantine.window_cleared", 2), ("quarantine.moved", 5), ("quarantine.cascaded", 6),
          ("extract.before_commit", 8), ("extract.committed", 10)]
RANDOM_KILLS = 4
# Tables no other table refers to: a row may be deleted from the source without breaking a foreign key.
LEAVES = ("llm_usage", "agent_actions", "signature_metrics", "verifier_metrics", "training_metrics")


@pytest.fixture(scope="module")
def stack(simulations: Simulations) -> Simulated:
    """The quality profile with 5 % of every defect (so the quarantine moves rows), loaded as raw."""
    return simulations.copy(quality_profile(0.05), "raw_faults_app", "raw_faults_warehouse")


def _change_the_source_day(app_dsn: str, day: date, round_: int) -> None:
    """New content for the day in every partitioned table: its latest row of the day moves a second
    earlier (the same day still), and a leaf table loses a row."""
    start, end = f"{day}T00:00:00+00", f"{day + timedelta(days=1)}T00:00:00+00"
    with psycopg.connect(app_dsn) as conn:
        for table in PARTITIONED_TABLES:
            column = f'"{table.partition_column}"'
            latest = (f"SELECT id FROM {table.name} WHERE {column} >= %s AND {column} < %s "  # noqa: S608
                      f"ORDER BY {column} DESC, id DESC LIMIT 1")
            conn.execute(f"UPDATE {table.name} SET {column} = {column} - interval '1 second' "  # noqa: S608
                         f"WHERE id = ({latest})", (start, end))
            if table.name == LEAVES[round_ % len(LEAVES)]:
                conn.execute(f"DELETE FROM {table.name} WHERE id = ({latest})", (start, end))  # noqa: S608


def _state(stack: Simulated, day: date, side: str) -> dict[str, Fingerprint]:
    if side == "source":
        return {t.name: source_fingerprint(stack.app_dsn, t, day) for t in PARTITIONED_TABLES}
    assert stack.warehouse_dsn
    return {t.name: loaded_fingerprint(stack.warehouse_dsn, t, day) for t in PARTITIONED_TABLES}


def _expected_after(point: str, hit: int, previous: dict[str, Fingerprint], source: dict[str, Fingerprint]
                    ) -> dict[str, Fingerprint]:
    """Each point is passed once per table, in catalog order: the tables before the killed one were
    committed (the source), the ones after it untouched; the killed one is committed only when it died
    after its commit."""
    names = [t.name for t in PARTITIONED_TABLES]
    killed = names[hit - 1]
    done = names[:hit] if point == "extract.committed" else names[:hit - 1]
    assert killed in names
    return {t: source[t] if t in done else previous[t] for t in names}


def _load_in_process(stack: Simulated, window: Window) -> None:
    for table in PARTITIONED_TABLES:
        extract_table(table, stack.app_dsn, stack.warehouse_dsn, window, policy=RAW_LOAD_POLICY)  # type: ignore[arg-type]


def test_sigkill_during_raw_loads_leaves_each_day_old_or_new(stack: Simulated, crash_runner: CrashRunner) -> None:
    # the day of the window where the most tables have rows (training metrics are sparse)
    days = [stack.window.start + timedelta(days=i) for i in range((stack.window.end - stack.window.start).days)]
    day = max(days, key=lambda d: sum(rows > 0 for rows, _ in _state(stack, d, "source").values()))
    window = Window(day, day + timedelta(days=1))
    child = {"tables": [t.name for t in PARTITIONED_TABLES], "app_dsn": stack.app_dsn,
             "warehouse_dsn": stack.warehouse_dsn, "window": window}
    started = time.perf_counter()
    _load_in_process(stack, window)
    duration = time.perf_counter() - started
    chance = random.Random(19)
    plan: list[tuple[str, int]] = [*POINTS, *[("random", 0)] * RANDOM_KILLS]
    crashes = attempts = 0
    for point, hit in plan:
        while True:
            attempts += 1
            assert attempts < 4 * len(plan), "the random kills keep missing the load"
            _change_the_source_day(stack.app_dsn, day, attempts)
            previous, source = _state(stack, day, "loaded"), _state(stack, day, "source")
            unchanged = [t for t in previous if previous[t] == source[t] and source[t][0] > 0]
            assert unchanged == [], "the source day did not change"
            if point == "random":
                crashed = crash_runner.crash_after("extract", chance.uniform(0.05, duration), **child)
            else:
                crashed = crash_runner.crash_at("extract", f"{point}:{hit}", **child)
                assert crashed, f"the load did not reach {point}:{hit}"
            after = _state(stack, day, "loaded")
            mixed = {t: after[t] for t in after if after[t] not in (previous[t], source[t])}
            assert mixed == {}, f"a day holds neither its previous content nor the source after a kill at {point}"
            doubled = {t.name: n for t in PARTITIONED_TABLES if (n := duplicated_keys(stack.warehouse_dsn, t, day))}  # type: ignore[arg-type]
            assert doubled == {}, f"rows held twice after a kill at {point}"
            if point != "random":
                assert after == _expected_after(point, hit, previous, source), f"{point}:{hit}"
            started = time.perf_counter()
            _load_in_process(stack, window)  # the retry finishes the job
            duration = max(0.2, time.perf_counter() - started)
            assert _state(stack, day, "loaded") == _state(stack, day, "source"), f"re-run after {point}"
            if crashed:
                crashes += 1
                break
    SURVIVED["raw load"] += crashes
    assert crashes == len(plan)
