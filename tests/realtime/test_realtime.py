"""The real-time tier: a row written now reaches raw and the real-time marts in one refresh; a
refresh is idempotent; the hours add up to the day; a budget alert is raised once."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import psycopg
import pytest

from datamove.watermarks import Watermark
from orchestration.defs.realtime.sensors import plan_refreshes
from tests.realtime.conftest import REALTIME_TABLES, RealtimeStack, contents


def test_a_row_written_now_reaches_raw_and_the_realtime_marts(realtime: RealtimeStack,
                                                             instance: dg.DagsterInstance) -> None:
    realtime.write_live_rows(batch=1)
    result = realtime.refresh(instance)
    assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
    with psycopg.connect(realtime.app_dsn) as app:
        source = {t: app.execute(f"SELECT count(*) FROM {t} WHERE created_at >= %s::date", (realtime.today,)  # noqa: S608
                                 ).fetchone()[0] for t in REALTIME_TABLES}  # type: ignore[index]
    for table in REALTIME_TABLES:
        loaded = realtime.scalar(
            f"SELECT (SELECT count(*) FROM raw.{table} WHERE _partition_date = %s) + "  # noqa: S608
            f"(SELECT count(*) FROM quarantine.{table} WHERE _partition_date = %s)", realtime.today, realtime.today)
        assert loaded == source[table] > 0, table
    hourly = realtime.scalar("SELECT sum(total_messages) FROM marts.agent_metrics_hourly WHERE day = %s",
                             realtime.today)
    daily = realtime.scalar("SELECT sum(total_messages) FROM marts.agent_metrics_daily WHERE day = %s",
                            realtime.today)
    assert hourly == daily and hourly and hourly > 0
    assert realtime.scalar("SELECT count(*) FROM marts.user_budget_status WHERE day = %s", realtime.today)
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks if c.severity == dg.AssetCheckSeverity.ERROR)


def test_refreshing_today_three_times_leaves_identical_contents(realtime: RealtimeStack,
                                                                instance: dg.DagsterInstance) -> None:
    realtime.write_live_rows(batch=2)
    found = []
    for _ in range(3):  # the refresh that loads the new rows, then two re-runs that must change nothing
        assert realtime.refresh(instance).success
        found.append(contents(realtime))
    assert found[0] == found[1] == found[2]
    assert all(not value.startswith("0:") for key, value in found[0].items() if key.startswith("raw."))


def test_the_hours_add_up_to_the_day(realtime: RealtimeStack, instance: dg.DagsterInstance) -> None:
    """Seed 002 finalizes each day from its hours: counts, tokens and cost are the hours' sums, the
    averages their weighted means (percentiles are computed from the day's own rows)."""
    # today was refreshed by the tests before; yesterday's hours come from the same models
    assert realtime.refresh(instance, realtime.today - timedelta(days=1)).success
    mismatches = realtime.scalar("""
        WITH hours AS (
            SELECT day, agent_id, sum(total_messages) AS messages, sum(error_messages) AS errors,
                   sum(assistant_messages) AS answers, sum(response_time_sum_ms) AS rt_sum,
                   sum(response_time_count) AS rt_count, sum(total_tokens) AS tokens, sum(total_cost_usd) AS cost
            FROM marts.agent_metrics_hourly GROUP BY day, agent_id
        )
        SELECT count(*) FROM marts.agent_metrics_daily AS d FULL JOIN hours AS h USING (day, agent_id)
        WHERE h.messages IS DISTINCT FROM d.total_messages
           OR round(h.errors::numeric / nullif(h.answers, 0), 4) IS DISTINCT FROM d.error_rate
           OR round(h.rt_sum::numeric / nullif(h.rt_count, 0), 2) IS DISTINCT FROM d.avg_response_time_ms
           OR h.tokens IS DISTINCT FROM d.total_tokens
           OR abs(h.cost - d.total_cost_usd) > 0.000001""")
    assert mismatches == 0
    cost_mismatches = realtime.scalar("""
        WITH hours AS (
            SELECT day, provider, model, agent_id, agent_name, sum(calls) AS calls, sum(total_tokens) AS tokens,
                   sum(total_cost_usd) AS cost
            FROM marts.llm_cost_hourly GROUP BY 1, 2, 3, 4, 5
        )
        SELECT count(*) FROM marts.llm_cost_breakdown AS d
        FULL JOIN hours AS h USING (day, provider, model, agent_id, agent_name)
        WHERE h.calls IS DISTINCT FROM d.calls OR h.tokens IS DISTINCT FROM d.total_tokens
           OR abs(coalesce(h.cost, 0) - coalesce(d.total_cost_usd, 0)) > 0.000001""")
    assert cost_mismatches == 0


def _top_spender(stack: RealtimeStack) -> tuple[int, float]:
    from tests.marts.reference import PRICES_PER_1K

    prices = ", ".join(f"('{p}', '{m}', {a}, {b})" for (p, m), (a, b) in PRICES_PER_1K.items())
    with psycopg.connect(stack.app_dsn) as app:
        row = app.execute(f"""
            SELECT u.user_id, sum(u.prompt_tokens / 1000.0 * p.prompt + u.completion_tokens / 1000.0 * p.completion)
            FROM llm_usage AS u
            JOIN (VALUES {prices}) AS p (provider, model, prompt, completion)
              ON p.provider = lower(trim(u.provider)) AND p.model = lower(trim(u.model))
            WHERE u.user_id IN (SELECT user_id FROM user_budgets) AND u.prompt_tokens >= 0 AND u.completion_tokens >= 0
              AND u.created_at >= date_trunc('month', %s::date)::timestamp AT TIME ZONE 'UTC'
              AND u.created_at < (%s::date + 1)::timestamp AT TIME ZONE 'UTC'
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""", (stack.today, stack.today)).fetchone()  # noqa: S608
    assert row is not None and row[1] > 0
    return int(row[0]), float(row[1])


def test_a_budget_alert_is_raised_once_per_user_month_and_threshold(realtime: RealtimeStack,
                                                                    instance: dg.DagsterInstance) -> None:
    realtime.write_live_rows(batch=3, tasks=2, messages=20)
    # the month-to-date spend of the user who spent most, counted in the app database (seed 002 prices)
    user, spend = _top_spender(realtime)
    with psycopg.connect(realtime.app_dsn) as app:  # the user's budget shrinks to 90% of what they spent
        app.execute("UPDATE user_budgets SET monthly_budget_usd = %s WHERE user_id = %s", (float(spend) / 0.9, int(user)))
    # the budget is a snapshot table: the daily pipeline loads it; here the raw load of the table
    from datamove.extract import extract_table
    from foundation.catalog import SOURCE_TABLES_BY_NAME
    from orchestration.defs.raw.assets import RAW_LOAD_POLICY

    extract_table(SOURCE_TABLES_BY_NAME["user_budgets"], realtime.app_dsn, realtime.warehouse_dsn,
                  policy=RAW_LOAD_POLICY)
    assert realtime.refresh(instance).success  # the live rows, the new budget: the 80 % alert
    mart_spend = realtime.scalar("SELECT mtd_spend_usd FROM marts.user_budget_status WHERE day = %s AND user_id = %s",
                                 realtime.today, user)
    assert float(mart_spend) == pytest.approx(spend, abs=1e-6)  # type: ignore[arg-type]
    rows = realtime.scalar("SELECT array_agg(threshold ORDER BY threshold) FROM alerts.budget_alerts "
                           "WHERE user_id = %s AND month = %s", int(user), realtime.today.replace(day=1))
    assert [float(t) for t in rows] == [0.8]  # type: ignore[union-attr]
    with psycopg.connect(realtime.app_dsn) as app:  # now over the whole budget
        app.execute("UPDATE user_budgets SET monthly_budget_usd = %s WHERE user_id = %s", (float(spend) / 2, int(user)))
    extract_table(SOURCE_TABLES_BY_NAME["user_budgets"], realtime.app_dsn, realtime.warehouse_dsn,
                  policy=RAW_LOAD_POLICY)
    results = [realtime.refresh(instance) for _ in range(2)]
    rows = realtime.scalar("SELECT array_agg(threshold ORDER BY threshold) FROM alerts.budget_alerts "
                           "WHERE user_id = %s AND month = %s", int(user), realtime.today.replace(day=1))
    assert [float(t) for t in rows] == [0.8, 1.0]  # type: ignore[union-attr]
    first, second = (r.asset_materializations_for_node("alerts__budget_alerts")[0] for r in results)
    assert first.metadata["new_alerts"].value >= 1 and second.metadata["new_alerts"].value == 0
    [check] = [c for c in results[1].get_asset_check_evaluations() if c.check_name == "no_user_over_budget"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


# ---- the sensor's plan, without a database ------------------------------------------------------

def _marks(day: str, rows: int) -> list[Watermark]:
    return [Watermark(t, day, rows, rows, None) for t in REALTIME_TABLES]


@pytest.mark.parametrize(("previous_rows", "hour", "expected"), [
    ({}, "H", [("realtime_refresh_job", 0, "first tick")]),
    ({0: 5, 1: 5, 3: 5}, "H", []),
    ({0: 4, 1: 5, 3: 5}, "H", [("realtime_refresh_job", 0, "moved")]),
    ({0: 5, 1: 5, 3: 5}, "G", [("realtime_refresh_job", 0, "hour")]),
    ({0: 5, 1: 4, 3: 5}, "H", [("realtime_refresh_job", 1, "moved")]),
    ({0: 5, 1: 5, 3: 4}, "H", [("daily_pipeline_job", 3, "late rows")]),
])
def test_the_sensor_plans_a_refresh_per_day_that_moved(previous_rows: dict[int, int], hour: str,
                                                       expected: list[tuple[str, int, str]]) -> None:
    from datetime import date

    today = date(2027, 3, 1)
    days = {back: (today - timedelta(days=back)).isoformat() for back in (0, 1, 3)}
    marks = {days[back]: _marks(days[back], 5) for back in days}
    previous = {"marks": {days[b]: [m.__dict__ for m in _marks(days[b], rows)] for b, rows in previous_rows.items()},
                "hour": "2027-03-01TH"} if previous_rows else {}
    plans = plan_refreshes(previous, marks, today, f"2027-03-01T{hour}")
    assert [(job, (today - day).days) for job, day, _ in plans] == [(job, back) for job, back, _ in expected]
    assert all(word in why for (_, _, why), (_, _, word) in zip(plans, expected, strict=True))


def test_after_the_first_tick_only_what_moves_is_refreshed() -> None:
    """The first tick refreshes today; the next tick, with nothing written, re-runs no past day."""
    from datetime import date

    from orchestration.defs.realtime.sensors import baseline_marks

    today = date(2027, 3, 1)
    marks = {(today - timedelta(days=back)).isoformat(): _marks((today - timedelta(days=back)).isoformat(), 5)
             for back in range(7)}
    [(job, day, _)] = plan_refreshes({}, marks, today, "2027-03-01T10")
    assert (job, day) == ("realtime_refresh_job", today)
    cursor = {**baseline_marks({}, marks, {today.isoformat()}),
              today.isoformat(): [m.__dict__ for m in marks[today.isoformat()]]}
    assert plan_refreshes({"marks": cursor, "hour": "2027-03-01T10"}, marks, today, "2027-03-01T10") == []
