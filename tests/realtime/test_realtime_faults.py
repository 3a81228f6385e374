"""The SIGKILL campaign over the steps of the real-time refresh and of the daily run: the raw load with
its quarantine, dbt, the scorecard and the budget alerts.

One stack (a real-time stack of its own) and one day, today with fresh live rows. First an
uninterrupted run of the steps gives the reference. Then, per kill, the step's output is put back
to a different "previous" content (rows of the day removed or changed), a child process runs only
that step and dies by SIGKILL at a named fault point of the engine (``datamove/faults.py``) or at a
random moment (seeded: the campaign replays), and the step is re-run to the end. After every kill
each table of the step holds its previous content or the reference, never a mix; after every re-run
it holds the reference. At the end raw + quarantine equal the source, the marts, the scorecard and
the alerts equal the uninterrupted run's (count and checksum), and no alert exists twice.

dbt is a third-party process: its kills are random moments of a ``dbt run`` of the real-time marts
with the day's window (the models the refresh's dbt step builds), its process group killed.
The raw load of every partitioned table is killed 12 more times in tests/raw/test_raw_faults.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest

from datamove.extract import extract_table
from foundation.catalog import SOURCE_TABLES_BY_NAME, Window
from foundation.settings import now
from orchestration.defs.raw.assets import RAW_LOAD_POLICY
from orchestration.lib.dbt_env import dbt_environment, window_settings
from orchestration.lib.dbt_project import dbt_executable
from quality.alerts import raise_budget_alerts
from quality.scorecard import compute_scorecard
from tests.crash import SURVIVED, CrashRunner
from tests.fingerprints import duplicated_keys, loaded_fingerprint, source_fingerprint
from tests.realtime.conftest import MARTS, REALTIME_TABLES, RealtimeStack, day_fingerprint, realtime_stack
from tests.simulations import Simulations

SEED = 1212
# (step, fault point or "random"): 8 + 4 + 6 + 3 = 21 kills, with the raw load's 12 the campaign's 33
PLAN: list[tuple[str, str]] = [
    ("load", "extract.window_deleted:1"), ("load", "extract.chunk_written:2"), ("load", "extract.copied:3"),
    ("load", "quarantine.window_cleared:2"), ("load", "quarantine.moved:3"), ("load", "extract.before_commit:1"),
    ("load", "random"), ("load", "random"),
    ("scorecard", "scorecard.scored:1"), ("scorecard", "scorecard.day_deleted:1"),
    ("scorecard", "scorecard.before_commit:1"), ("scorecard", "random"),
    *[("dbt", "random")] * 6,
    ("alerts", "alerts.table_ready:1"), ("alerts", "alerts.raised:1"), ("alerts", "random"),
]
SCORECARD = "quality.scorecard"
ALERTS = "alerts.budget_alerts"


@pytest.fixture(scope="module")
def stack(simulations: Simulations, tmp_path_factory: pytest.TempPathFactory) -> RealtimeStack:
    stack = realtime_stack(simulations, tmp_path_factory, "rtf")
    stack.write_live_rows(batch=41, tasks=8, messages=12)
    with psycopg.connect(stack.app_dsn) as app:
        # today's three biggest users get a budget of one cent: the reference raises their 80 % and 100 % alerts
        app.execute("UPDATE user_budgets SET monthly_budget_usd = 0.01 WHERE user_id IN ("
                    "SELECT user_id FROM llm_usage WHERE created_at >= %s::date "
                    "AND user_id IN (SELECT user_id FROM user_budgets) GROUP BY user_id "
                    "ORDER BY sum(prompt_tokens + completion_tokens) DESC, user_id LIMIT 3)", (stack.today,))
        # a row of today the quarantine moves (negative tokens), so the quarantine has work to undo
        app.execute("UPDATE llm_usage SET prompt_tokens = -7 WHERE id = (SELECT max(id) FROM llm_usage)")
    extract_table(SOURCE_TABLES_BY_NAME["user_budgets"], stack.app_dsn, stack.warehouse_dsn, policy=RAW_LOAD_POLICY)
    return stack


# ---- the steps, in this process (the uninterrupted run and the re-runs) ------------------------

def _load(stack: RealtimeStack) -> None:
    window = Window(stack.today, stack.today + timedelta(days=1))
    for name in REALTIME_TABLES:
        extract_table(SOURCE_TABLES_BY_NAME[name], stack.app_dsn, stack.warehouse_dsn, window, policy=RAW_LOAD_POLICY)


def _dbt(stack: RealtimeStack) -> subprocess.Popen[bytes]:
    """``dbt run`` of the real-time marts for today, in a process group of its own."""
    env = {**os.environ, **dbt_environment(stack.warehouse_dsn, window_settings(stack.today, stack.today))}
    project = str(stack.dbt_project_dir)
    return subprocess.Popen([dbt_executable(), "run", "--select", " ".join(MARTS), "--threads", "2",
                             "--project-dir", project, "--profiles-dir", project],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _run_dbt(stack: RealtimeStack) -> None:
    assert _dbt(stack).wait(timeout=600) == 0, "dbt run of the real-time marts failed"


def _scorecard(stack: RealtimeStack) -> None:
    compute_scorecard(stack.warehouse_dsn, stack.today)


def _alerts(stack: RealtimeStack) -> None:
    with psycopg.connect(stack.warehouse_dsn) as conn:
        raise_budget_alerts(conn, stack.today, stack.today + timedelta(days=1), now())


RERUN: dict[str, Callable[[RealtimeStack], None]] = {
    "load": _load, "dbt": _run_dbt, "scorecard": _scorecard, "alerts": _alerts}


# ---- what each step leaves: one fingerprint per table ------------------------------------------

def _state(stack: RealtimeStack, step: str) -> dict[str, object]:
    day, dsn = stack.today, stack.warehouse_dsn
    if step == "load":
        return {t: loaded_fingerprint(dsn, SOURCE_TABLES_BY_NAME[t], day) for t in REALTIME_TABLES}
    if step == "dbt":
        return {m: day_fingerprint(dsn, f"marts.{m}", "day", day) for m in MARTS}
    if step == "scorecard":
        return {SCORECARD: day_fingerprint(dsn, SCORECARD, "day", day)}
    return {ALERTS: day_fingerprint(dsn, ALERTS, "month", day.replace(day=1))}


def _source(stack: RealtimeStack) -> dict[str, object]:
    return {t: source_fingerprint(stack.app_dsn, SOURCE_TABLES_BY_NAME[t], stack.today) for t in REALTIME_TABLES}


def _rewind(stack: RealtimeStack, step: str, round_: int) -> None:
    """A previous content of the step's output, different from the reference (and from round to round)."""
    day = stack.today
    with psycopg.connect(stack.warehouse_dsn) as conn:
        if step == "load":  # a third of the day's rows, raw and quarantine, gone: an older load
            for table in REALTIME_TABLES:
                for schema in ("raw", "quarantine"):
                    conn.execute(f"DELETE FROM {schema}.{table} WHERE _partition_date = %s AND id %% 3 = %s",  # noqa: S608
                                 (day, round_ % 3))
        elif step == "dbt":  # the real-time marts without today: as before its first refresh
            for mart in MARTS:
                conn.execute(f"DELETE FROM marts.{mart} WHERE day = %s", (day,))  # noqa: S608
        elif step == "scorecard":
            conn.execute(f"UPDATE {SCORECARD} SET value = %s WHERE day = %s", (round_ / 100, day))  # noqa: S608
        else:  # the day's alerts not raised yet
            conn.execute(f"DELETE FROM {ALERTS} WHERE crossed_on = %s", (day,))  # noqa: S608


def _kill_dbt_after(stack: RealtimeStack, seconds: float) -> bool:
    process = _dbt(stack)
    try:
        process.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        time.sleep(0.2)  # its server sessions notice the lost client and roll back
        return True


def _child_args(stack: RealtimeStack, step: str) -> dict[str, object]:
    if step == "load":
        return {"tables": list(REALTIME_TABLES), "app_dsn": stack.app_dsn, "warehouse_dsn": stack.warehouse_dsn,
                "window": Window(stack.today, stack.today + timedelta(days=1))}
    return {"warehouse_dsn": stack.warehouse_dsn, "day": stack.today}  # the scorecard's, the alerts'



def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _doubled_alerts(stack: RealtimeStack) -> int:
    with psycopg.connect(stack.warehouse_dsn) as conn:
        row = conn.execute(f"SELECT count(*) - count(DISTINCT (user_id, month, threshold)) FROM {ALERTS}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


def test_sigkill_campaign_over_the_refresh_and_the_daily_steps(stack: RealtimeStack, crash_runner: CrashRunner) -> None:
    # the uninterrupted run: the reference of every step's output
    durations = {step: _timed(lambda step=step: RERUN[step](stack)) for step in ("load", "dbt", "scorecard", "alerts")}
    reference = {step: _state(stack, step) for step in RERUN}
    source = _source(stack)
    assert reference["load"] == source
    assert all(not str(v).startswith("0:") for v in reference["dbt"].values()), reference["dbt"]
    assert int(str(reference["alerts"][ALERTS]).split(":")[0]) >= 3, "the reference raises alerts for 3 users"
    with psycopg.connect(stack.warehouse_dsn) as conn:
        quarantined = conn.execute("SELECT count(*) FROM quarantine.llm_usage WHERE _partition_date = %s",
                                   (stack.today,)).fetchone()
    assert quarantined and quarantined[0] >= 1

    chance = random.Random(SEED)
    crashes: dict[str, int] = dict.fromkeys(RERUN, 0)
    attempts = 0
    for round_, (step, point) in enumerate(PLAN):
        while True:
            attempts += 1
            assert attempts < 3 * len(PLAN), "the random kills keep missing the steps"
            _rewind(stack, step, round_ + attempts)
            previous = _state(stack, step)
            assert previous != reference[step], f"{step}: the rewind changed nothing"
            if step == "dbt":
                crashed = _kill_dbt_after(stack, chance.uniform(0.5, durations["dbt"]))
            elif point == "random":
                crashed = crash_runner.crash_after(step if step != "load" else "extract",
                                                   chance.uniform(0.02, durations[step] + 0.1),
                                                   **_child_args(stack, step))
            else:
                crashed = crash_runner.crash_at(step if step != "load" else "extract", point,
                                                **_child_args(stack, step))
                assert crashed, f"the {step} did not reach {point}"
            after = _state(stack, step)
            mixed = {k: v for k, v in after.items() if v not in (previous[k], reference[step][k])}
            assert mixed == {}, f"{step} killed at {point}: neither the previous content nor the reference"
            assert _doubled_alerts(stack) == 0
            if step == "load":
                doubled = {t: n for t in REALTIME_TABLES
                           if (n := duplicated_keys(stack.warehouse_dsn, SOURCE_TABLES_BY_NAME[t], stack.today))}
                assert doubled == {}, f"rows held twice after a kill at {point}"
            durations[step] = max(durations[step] if step == "dbt" else 0.05, _timed(lambda: RERUN[step](stack)))  # noqa: B023 - called at once
            assert _state(stack, step) == reference[step], f"the re-run after a kill of the {step} at {point}"
            if crashed:
                crashes[step] += 1
                break

    # everything at once: the day's raw + quarantine is the source, the rest is the uninterrupted run's
    assert _state(stack, "load") == _source(stack)
    assert {step: _state(stack, step) for step in RERUN} == reference
    assert _doubled_alerts(stack) == 0
    for step, count in crashes.items():
        SURVIVED[{"load": "real-time load", "dbt": "dbt"}.get(step, step)] += count
    assert sum(crashes.values()) == len(PLAN), crashes
