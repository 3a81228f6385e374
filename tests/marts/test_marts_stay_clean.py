"""Quarantined rows never reach a mart: on the session's warehouse (every defect kind planted, the raw
layer loaded with its quarantine) the dbt build of the marts tests holds only raw rows, all of them."""

from __future__ import annotations

import psycopg

from foundation.connections import CLOCK_SQL, pin_clock
from quality import policy
from quality.rules import RAW_SUITES
from tests.conftest import LoadedWarehouse
from tests.marts.conftest import DbtBuild


def test_no_quarantined_row_reaches_agent_analytics(warehouse: LoadedWarehouse, built_marts: DbtBuild,
                                                     warehouse_dsn: str) -> None:
    # a dbt failure fails this test with dbt's output (it used to skip it: a broken build looked green)
    assert built_marts.returncode == 0, built_marts.output[-4000:]

    def scalar(query: str) -> object:
        with psycopg.connect(warehouse_dsn) as conn:
            return conn.execute(query).fetchone()[0]  # type: ignore[index]

    # one row may carry several defects: count rule hits, not rows
    quarantined = int(scalar("select count(*) from quarantine.tasks, unnest(_rules)"))  # type: ignore[call-overload]
    planted = sum(v for k, v in warehouse.report.defects_planted.items()
                  if k.endswith(":tasks") and not k.startswith("late_arriving"))
    assert quarantined >= planted > 0
    assert scalar("select count(*) from marts.agent_analytics where avg_rating not between 0 and 5 "
                  "or total_revenue < 0") == 0
    assert scalar("select count(*) from marts.agent_analytics m where not exists "
                  "(select 1 from raw.agents a where a.id = m.agent_id)") == 0
    # every completed task the mart counts is a raw (not quarantined) row, and all of them are counted
    completed = "from raw.tasks where status = 'completed' and completed_at is not null " \
                "and agent_id in (select id from raw.agents)"
    assert scalar("select sum(tasks_completed) from marts.agent_analytics") == scalar(f"select count(*) {completed}")
    assert scalar("select sum(total_revenue) from marts.agent_analytics") == scalar(f"select sum(revenue) {completed}")


def test_staging_keeps_a_completion_the_quarantine_keeps(built_marts: DbtBuild, warehouse_dsn: str) -> None:
    """A completion a minute or two after the extraction (the app's clock a little ahead of ours)
    is within the quarantine's skew allowance, so the quarantine keeps it in raw; staging must keep
    it too, or the marts lose a row that raw has and the reconciliation fails. Staging used to
    bound completions by the extraction instant as well."""
    assert built_marts.returncode == 0, built_marts.output[-3000:]
    suite = RAW_SUITES["tasks"]
    future = suite.rule("completed_at_not_future").violation_sql(None, suite)
    with psycopg.connect(warehouse_dsn) as conn:  # the session's warehouse is shared: rolled back below
        try:
            pin_clock(conn)
            conn.execute("create temp table skewed on commit drop as select * from raw.tasks "
                         "where status = 'completed' and task_ref in "
                         "(select task_ref from staging.stg_marketplace__tasks) limit 1")
            conn.execute(f"update skewed set id = (select max(id) + 1 from raw.tasks), task_ref = 'T-SKEWED', "
                         f"_extracted_at = {CLOCK_SQL}, completed_at = {CLOCK_SQL} + %(skew)s, "
                         f"updated_at = {CLOCK_SQL} + %(skew)s", {"skew": policy.FUTURE_SKEW / 2})
            conn.execute("insert into raw.tasks select * from skewed")
            kept_by_quarantine = conn.execute(
                f"select not ({future}) from raw.tasks where task_ref = 'T-SKEWED'").fetchone()  # noqa: S608
            staged = conn.execute("select count(*) from staging.stg_marketplace__tasks "
                                  "where task_ref = 'T-SKEWED'").fetchone()
        finally:
            conn.rollback()
    assert kept_by_quarantine == (True,)
    assert staged == (1,)
