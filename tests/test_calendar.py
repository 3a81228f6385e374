"""The date-sensitive logic on the days calendars break on: 1st and last of a month, New Year,
29 February. Each test pins "today" itself (``PLATFORM_TODAY``), so it proves the same thing on
whatever day the suite runs; the calendar re-runs of ``make test`` add the whole session pinned."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest
from dagster import build_schedule_context
from dagster._core.test_utils import freeze_time

from datamove.archive.policy import HOT_DAYS, newest_month_in_tier, next_month, tier_for
from foundation.connections import pin_clock
from foundation.retention import POLICY
from foundation.settings import (
    HISTORY_BEYOND_DAYS,
    TODAY_VARIABLE,
    Settings,
    history_window,
    load_settings,
    now,
    pinned_clock,
    today,
)
from orchestration.cli.demo import archivable_months
from orchestration.lib.partitions import daily_partitions, monthly_partitions, previous_day
from orchestration.simulator import generate
from quality import policy
from quality.rules import RAW_SUITES

# the real clock when the partitions were built: this module's import, right after theirs
_LOADED_AT = datetime.now(UTC)

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
# The schedules are also evaluated on an ordinary day: what they ask for there is the plain rule.
TICK_DAYS = [date(2027, 6, 16), *BOUNDARY_DAYS]
tick_ids = [d.isoformat() for d in TICK_DAYS]


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
    # As the code was loaded: the definitions count days from the real clock, so a session that runs
    # past the real midnight has one more partition after it (README, PLATFORM_TODAY)
    last_month = today().replace(day=1) - timedelta(days=1)
    with freeze_time(_LOADED_AT):  # Dagster's clock
        assert daily_partitions.get_last_partition_key() == today().isoformat()
        assert monthly_partitions.get_last_partition_key() == last_month.replace(day=1).isoformat()


def test_partitions_start_where_the_settings_say() -> None:
    first = daily_partitions.get_first_partition_key()
    assert first == load_settings().partition_start
    assert monthly_partitions.get_first_partition_key() == (first or "")[:8] + "01"


@pytest.mark.parametrize("day", BOUNDARY_DAYS, ids=ids)
def test_the_partition_start_follows_the_pinned_day(day: date, pinned, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """By default partitions start with the demo's history (PLATFORM_DAYS + 30 days before today), not a
    fixed year: the UI counts the days the platform holds."""
    pinned(day.isoformat())
    monkeypatch.delenv("PLATFORM_PARTITION_START", raising=False)
    assert load_settings().partition_start == (day - timedelta(days=90 + HISTORY_BEYOND_DAYS)).isoformat()
    assert history_window(90 + HISTORY_BEYOND_DAYS)[0].isoformat() == load_settings().partition_start
    monkeypatch.setenv("PLATFORM_DAYS", "10")
    assert load_settings().partition_start == (day - timedelta(days=10 + HISTORY_BEYOND_DAYS)).isoformat()
    monkeypatch.setenv("PLATFORM_PARTITION_START", "2025-06-01")  # configured: kept as it is
    assert load_settings().partition_start == "2025-06-01"


@pytest.mark.parametrize("day", TICK_DAYS, ids=tick_ids)
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


@pytest.mark.parametrize("day", TICK_DAYS, ids=tick_ids)
def test_the_exports_schedule_waits_for_the_day_that_ended_then_asks_for_it_once(
        day: date, pinned, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """03:30 to 06:30 UTC: the exports of the day that ended, once each of its three marts has been built."""
    from dagster import AssetMaterialization, instance_for_test

    from datamove.export_specs import EXPORTS
    from orchestration.defs.exports.assets import exports_daily_schedule

    monkeypatch.delenv(TODAY_VARIABLE)  # the tick decides
    yesterday, before = (day - timedelta(days=1)).isoformat(), (day - timedelta(days=2)).isoformat()

    def tick(hour: int, minute: int = 30) -> list:  # type: ignore[type-arg]
        context = build_schedule_context(instance, scheduled_execution_time=datetime.combine(
            day, time(hour, minute), tzinfo=UTC))
        return list(exports_daily_schedule(context))  # type: ignore[arg-type]

    with instance_for_test() as instance:
        for spec in EXPORTS.values():  # the day before yesterday is built: not what the tick waits for
            instance.report_runless_asset_event(AssetMaterialization(asset_key=spec.mart_path, partition=before))
        [skipped] = tick(3)
        assert f"have no materialization for {yesterday}" in (skipped.skip_message or "")
        *built, last = list(EXPORTS.values())
        for spec in built:
            instance.report_runless_asset_event(AssetMaterialization(asset_key=spec.mart_path, partition=yesterday))
        [skipped] = tick(4)
        assert f"marts {last.name} have no materialization for {yesterday}" in (skipped.skip_message or "")
        instance.report_runless_asset_event(AssetMaterialization(asset_key=last.mart_path, partition=yesterday))
        requests = [tick(hour)[0] for hour in (5, 6)]
        assert {(r.partition_key, r.run_key) for r in requests} == {(yesterday, f"exports-{yesterday}")}

        pinned(day.isoformat())  # replaying the day: a tick at any real time asks for the same partition
        context = build_schedule_context(instance, scheduled_execution_time=datetime(2031, 7, 4, 3, 30, tzinfo=UTC))
        [request] = list(exports_daily_schedule(context))  # type: ignore[arg-type]
        assert request.partition_key == yesterday  # type: ignore[union-attr]


def _newest_whole_month_older_than(day: date, days: int) -> date:
    """Counted here, day by day: the latest month whose every day is more than ``days`` days before ``day``."""
    month = day.replace(day=1)
    while not all(_older_than(d, day, days) for d in _days_of(month)):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


@pytest.mark.parametrize("day", TICK_DAYS, ids=tick_ids)
def test_the_archive_schedule_asks_for_the_months_that_left_their_tier(
        day: date, pinned, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The 1st at 04:00 UTC: the newest whole month past the hot window (warm) and past two years (cold)."""
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("archive_monthly_schedule")
    repository = defs.get_repository_def()
    # each hot window of the retention policy (90 days; chat_sessions 180) asks for its own month
    windows = (("warm", HOT_DAYS), ("warm", POLICY["chat_sessions"].keep_days), ("cold", 730))
    expected = {(tier, f"{days}d"): _newest_whole_month_older_than(day, days) for tier, days in windows}
    first = date.fromisoformat(defs.resolve_job_def("archive_monthly_job").partitions_def
                               .get_first_partition_key())  # type: ignore[union-attr]
    expected = {key: month for key, month in expected.items() if month >= first}

    def requested(at: datetime) -> dict[tuple[str, str], tuple[str | None, str | None]]:
        context = build_schedule_context(scheduled_execution_time=at, repository_def=repository)
        return {(r.tags["archive/tier"], r.tags["archive/window"]): (r.partition_key, r.run_key)
                for r in schedule.evaluate_tick(context).run_requests or []}

    monkeypatch.delenv(TODAY_VARIABLE)  # the tick decides
    by_tick = requested(datetime.combine(day, time(4), tzinfo=UTC))
    assert by_tick == {key: (month.isoformat(), f"archive-{key[0]}-{month:%Y-%m}") for key, month in expected.items()}
    pinned(day.isoformat())
    assert requested(datetime(2031, 7, 1, 4, tzinfo=UTC)) == by_tick


@pytest.fixture(scope="module")
def live_app(simulations) -> str:  # type: ignore[no-untyped-def]
    """An app database with agents, customers and chat sessions, for rows written at pinned instants."""
    from tests.simulations import CLEAN_3_DAYS

    return simulations.copy(CLEAN_3_DAYS, "calendar_live_app").app_dsn


@pytest.mark.parametrize("day", [date(2027, 6, 16), date(2027, 3, 1), date(2028, 3, 1), date(2027, 1, 1)],
                         ids=["ordinary", "1st-of-march", "after-leap-day", "new-year"])
def test_the_realtime_sensor_asks_for_the_days_that_moved(day: date, pinned, live_app: str) -> None:  # type: ignore[no-untyped-def]
    """Ticks at fixed instants just after midnight: the new today on the first tick, yesterday (across a
    month, a leap day, a year) when it gets rows, an older day's late rows as a daily pipeline run, the
    next hour as a refresh of today, and a skip when nothing moved."""
    import numpy as np
    from dagster import SensorResult, SkipReason, build_sensor_context, instance_for_test

    from orchestration.defs.realtime.sensors import realtime_sensor
    from orchestration.lib.resources import PostgresResource
    from orchestration.simulator.live import append_batch

    def write_at(instant: datetime) -> None:
        pinned(instant.isoformat())
        with psycopg.connect(live_app) as conn:
            append_batch(conn, np.random.default_rng([day.toordinal(), instant.hour]), tasks=2, messages=2)

    cursor: str | None = None

    def tick(at: datetime) -> SensorResult | SkipReason:
        nonlocal cursor
        pinned(at.isoformat())
        context = build_sensor_context(instance=instance, cursor=cursor,
                                       resources={"app_db": PostgresResource(dsn=live_app)})
        result = realtime_sensor(context)
        if isinstance(result, SensorResult):
            cursor = result.cursor
        return result  # type: ignore[return-value]

    def asked(result: SensorResult | SkipReason) -> list[tuple[str | None, str | None]]:
        assert isinstance(result, SensorResult), getattr(result, "skip_message", result)
        return [(r.job_name, r.partition_key) for r in result.run_requests or []]

    midnight = datetime.combine(day, time(), tzinfo=UTC)
    yesterday, older = day - timedelta(days=1), day - timedelta(days=3)
    with instance_for_test() as instance:
        assert asked(tick(midnight + timedelta(minutes=1))) == [("realtime_refresh_job", day.isoformat())]
        write_at(midnight - timedelta(minutes=5))  # rows of the day that just ended
        assert asked(tick(midnight + timedelta(minutes=2))) == [("realtime_refresh_job", yesterday.isoformat())]
        write_at(datetime.combine(older, time(12), tzinfo=UTC))  # late rows of an older day
        assert asked(tick(midnight + timedelta(minutes=3))) == [("daily_pipeline_job", older.isoformat())]
        skipped = tick(midnight + timedelta(minutes=4))
        assert isinstance(skipped, SkipReason) and "no real-time table moved" in (skipped.skip_message or "")
        refresh = tick(midnight + timedelta(hours=1, minutes=1))  # the first hour of the day has ended
        assert asked(refresh) == [("realtime_refresh_job", day.isoformat())]
        assert "hour" in refresh.run_requests[0].tags["platform/trigger"]  # type: ignore[union-attr, index]


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
    requested = {(r.tags["archive/tier"], r.tags["archive/window"]): r.partition_key
                 for r in schedule.evaluate_tick(context).run_requests or []}
    assert requested[("warm", f"{HOT_DAYS}d")] == months[-1]


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
