"""The date-sensitive logic on the days calendars break on: 1st and last of a month, New Year,
29 February. Each test pins "today" itself (``PLATFORM_TODAY``), so it proves the same thing on
whatever day the suite runs; the calendar re-runs of ``make test`` add the whole session pinned."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest
from dagster import build_schedule_context

from datamove.archive.policy import HOT_DAYS, newest_month_in_tier, next_month, tier_for
from foundation.connections import pin_clock
from foundation.settings import TODAY_VARIABLE, Settings, history_window, now, pinned_clock, today
from orchestration.cli.demo import archivable_months
from orchestration.lib.partitions import daily_partitions, monthly_partitions, previous_day
from orchestration.simulator import generate
from quality import policy
from quality.rules import RAW_SUITES

pytestmark = pytest.mark.calendar  # every test here is about the calendar

BOUNDARY_DAYS = [
    date(2027, 3, 1),  # the 1st of a month, after a 28-day February
    date(2027, 2, 28),  # the last day of a short month
    date(2026, 12, 31),  # the last day of the year
    date(2027, 1, 1),  # New Year
    date(2028, 2, 29),  # a leap day
    date(2028, 3, 1),  # the day after a leap day
    date(2026, 12, 1),  # the 1st of a month after a 30-day one
]
ids = [d.isoformat() for d in BOUNDARY_DAYS]


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def pin(value: str) -> None:
        monkeypatch.setenv(TODAY_VARIABLE, value)
    return pin


# ---- the clock ---------------------------------------------------------------------------------

def test_the_real_clock_when_nothing_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TODAY_VARIABLE, raising=False)
    before = datetime.now(UTC)
    assert before <= now() <= datetime.now(UTC)
    assert today() == datetime.now(UTC).date() or today() == before.date()
    # a schedule's tick decides the day when nothing is pinned
    assert today(datetime(2027, 3, 1, 1, 30, tzinfo=UTC)) == date(2027, 3, 1)


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_a_pinned_day_keeps_the_time_of_day_moving(day: date, pinned) -> None:  # type: ignore[no-untyped-def]
    pinned(day.isoformat())
    first, second = now(), now()
    assert first.date() == day == today() and first.tzinfo is not None and second >= first
    # a pinned day wins over a tick's own date: a replayed schedule asks for the pinned day
    assert today(datetime(2030, 6, 15, 2, tzinfo=UTC)) == day


def test_a_pinned_instant_stops_the_clock(pinned) -> None:  # type: ignore[no-untyped-def]
    pinned("2027-12-31T23:59:30Z")
    assert now() == datetime(2027, 12, 31, 23, 59, 30, tzinfo=UTC) == now()
    assert today() == date(2027, 12, 31)
    pinned("2028-01-01T01:30:00+02:00")  # an offset is converted: 2027-12-31 in UTC
    assert today() == date(2027, 12, 31)


@pytest.mark.parametrize("value", ["2027-02-30", "tomorrow", "01/03/2027", "2027-13-01T00:00:00"])
def test_a_malformed_pin_is_refused_by_name(value: str, pinned) -> None:  # type: ignore[no-untyped-def]
    pinned(value)
    with pytest.raises(ValueError, match=TODAY_VARIABLE):
        pinned_clock()


# ---- windows and partitions --------------------------------------------------------------------

@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_the_demo_window_ends_with_the_pinned_yesterday(day: date, pinned) -> None:  # type: ignore[no-untyped-def]
    pinned(day.isoformat())
    start, end = history_window(120)
    assert end == day and (end - start).days == 120


def test_partitions_end_where_the_session_clock_says() -> None:
    """Under the calendar re-runs the session is pinned: the last daily partition is its today (the
    real-time tier's), the last monthly one the month before."""
    assert daily_partitions.get_last_partition_key() == today().isoformat()
    last_month = today().replace(day=1) - timedelta(days=1)
    assert monthly_partitions.get_last_partition_key() == last_month.replace(day=1).isoformat()


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_schedule_ticks_ask_for_the_day_that_ended(day: date, pinned,  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.definitions import defs

    monkeypatch.delenv(TODAY_VARIABLE)  # first on the real clock: the tick decides
    tick = datetime.combine(day, time(2), tzinfo=UTC)
    expected = (day - timedelta(days=1)).isoformat()
    assert previous_day(tick).isoformat() == expected
    repository = defs.get_repository_def()
    schedule = defs.resolve_schedule_def("daily_pipeline_job_schedule")
    context = build_schedule_context(scheduled_execution_time=tick, repository_def=repository)
    [request] = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key == expected

    # pinned to the tick's day, a tick at any real time asks for the same partition
    pinned(day.isoformat())
    context = build_schedule_context(scheduled_execution_time=datetime(2031, 7, 4, 2, tzinfo=UTC),
                                     repository_def=repository)
    [request] = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key == expected


# ---- the archive's month arithmetic ------------------------------------------------------------

def _days_of(month: date) -> list[date]:
    return [month + timedelta(days=i) for i in range((next_month(month) - month).days)]


def _older_than(day: date, today_: date, days: int) -> bool:
    return (today_ - day).days > days


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_a_month_leaves_the_hot_window_when_its_last_day_is_older_than_90_days(day: date) -> None:
    month = date(day.year - 3, 1, 1)
    while month <= day:
        days = _days_of(month)
        expected = ("cold" if _older_than(days[-1], day, 730) else
                    "warm" if _older_than(days[-1], day, HOT_DAYS) else "hot")
        assert tier_for(month, day) == expected, month
        month = next_month(month)
    for tier, days in (("warm", HOT_DAYS), ("cold", 730)):
        newest = newest_month_in_tier(tier, day)
        assert all(_older_than(d, day, days) for d in _days_of(newest))
        assert not all(_older_than(d, day, days) for d in _days_of(next_month(newest)))


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_the_archive_schedule_and_the_demo_pick_the_same_months(day: date, pinned) -> None:  # type: ignore[no-untyped-def]
    from orchestration.definitions import defs

    window = (day - timedelta(days=150), day)
    months = archivable_months(window, day)
    assert months and all(tier_for(date.fromisoformat(m), day) != "hot" for m in months)
    assert newest_month_in_tier("warm", day).isoformat() == months[-1]

    pinned(day.isoformat())
    schedule = defs.resolve_schedule_def("archive_monthly_schedule")
    context = build_schedule_context(scheduled_execution_time=datetime(2031, 7, 1, 4, tzinfo=UTC),
                                     repository_def=defs.get_repository_def())
    requested = {r.tags["archive/tier"]: r.partition_key for r in schedule.evaluate_tick(context).run_requests or []}
    assert requested["warm"] == months[-1]


# ---- late arrival, not-future, freshness -------------------------------------------------------

@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_late_arrival_is_judged_from_the_end_of_the_partition_day(day: date, platform: Settings) -> None:
    """A row may change until its partition day ended plus the grace; one microsecond later it is late."""
    suite = RAW_SUITES["tasks"]
    rule = suite.rule("late_arriving_rows")
    deadline = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) + policy.LATE_ARRIVAL_GRACE
    with psycopg.connect(platform.warehouse_dsn) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE TEMP TABLE t (_partition_date date, updated_at timestamptz)")
        conn.execute("INSERT INTO t VALUES (%s, %s), (%s, %s), (%s, %s)",
                     (day, deadline - timedelta(microseconds=1), day, deadline, day, deadline + timedelta(days=40)))
        late = conn.execute(f"SELECT updated_at FROM t WHERE {rule.violation_sql(None, suite)} ORDER BY 1").fetchall()
    assert [r[0] for r in late] == [deadline, deadline + timedelta(days=40)]


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_not_future_is_judged_on_the_platform_clock(day: date, platform: Settings) -> None:
    """The rule reads the pinned "now", not the server's: a replayed day judges its rows as on that day."""
    suite = RAW_SUITES["tasks"]
    rule = suite.rule("completed_at_not_future")
    instant = datetime.combine(day, time(), tzinfo=UTC)  # midnight: "now" sits on the calendar boundary
    limit = instant + policy.FUTURE_SKEW
    with psycopg.connect(platform.warehouse_dsn) as conn:  # type: ignore[arg-type]
        pin_clock(conn, instant)
        conn.execute("CREATE TEMP TABLE t (completed_at timestamptz)")
        conn.execute("INSERT INTO t VALUES (%s), (%s), (%s)",
                     (instant - timedelta(days=1), limit, limit + timedelta(seconds=1)))
        future = conn.execute(f"SELECT completed_at FROM t WHERE {rule.violation_sql(None, suite)}").fetchall()
    assert [r[0] for r in future] == [limit + timedelta(seconds=1)]


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_freshness_targets_reach_across_midnight(day: date) -> None:
    """The source's latest row two minutes after midnight: the window must hold one from the day before."""
    latest = datetime.combine(day, time(0, 2), tzinfo=UTC)
    for table, target in (("tasks", policy.REALTIME_FRESHNESS), ("agent_actions", policy.DAILY_FRESHNESS)):
        suite = RAW_SUITES[table]
        expectation = suite.rule("freshness").expectation(suite, now(), latest)
        assert expectation.min_value == latest - target < datetime.combine(day, time(), tzinfo=UTC)


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_the_simulator_plants_late_rows_on_any_end_date(day: date) -> None:
    """What the report counts as planted is what the rows hold, and every late row stays in the window."""
    tables, report = generate(seed=11, scale="tiny", days=4, end_date=day, defects={"late_arriving": 0.02})
    tasks = tables["tasks"]
    grace_end = (tasks.created_at.dt.floor("D") + timedelta(days=1) + policy.LATE_ARRIVAL_GRACE)
    late = tasks[tasks.updated_at >= grace_end]
    assert report.defects_planted["late_arriving:tasks"] == len(late) > 0
    assert (late.updated_at < datetime.combine(day, time(), tzinfo=UTC)).all()
