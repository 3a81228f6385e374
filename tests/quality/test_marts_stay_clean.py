"""Quarantined rows never reach a mart: dbt builds agent_analytics on a warehouse with every defect kind."""

from __future__ import annotations

from pathlib import Path

from tests.dbt_helpers import run_dbt
from tests.quality.conftest import ScratchStack


def test_no_quarantined_row_reaches_agent_analytics(scratch: ScratchStack, tmp_path: Path) -> None:
    report = scratch.simulate(0.03)
    scratch.load(("specialties", "agents", "customers", "tasks"))
    # a dbt failure fails this test with dbt's output (it used to skip it: a broken build looked green)
    run_dbt(scratch.warehouse_dsn, tmp_path, "run", "+agent_analytics")
    # one row may carry several defects: count rule hits, not rows
    quarantined = int(scratch.scalar("select count(*) from quarantine.tasks, unnest(_rules)"))  # type: ignore[arg-type]
    assert quarantined >= sum(v for k, v in report.defects_planted.items()
                              if k.endswith(":tasks") and not k.startswith("late_arriving"))
    assert scratch.scalar("select count(*) from marts.agent_analytics where avg_rating not between 0 and 5 "
                          "or total_revenue < 0") == 0
    assert scratch.scalar("select count(*) from marts.agent_analytics m where not exists "
                          "(select 1 from raw.agents a where a.id = m.agent_id)") == 0
    # every completed task the mart counts is a raw (not quarantined) row, and all of them are counted
    completed_in_raw = scratch.scalar(
        "select count(*) from raw.tasks where status = 'completed' and completed_at is not null "
        "and agent_id in (select id from raw.agents)")
    assert scratch.scalar("select sum(tasks_completed) from marts.agent_analytics") == completed_in_raw
    revenue_in_raw = scratch.scalar(
        "select sum(revenue) from raw.tasks where status = 'completed' and completed_at is not null "
        "and agent_id in (select id from raw.agents)")
    assert scratch.scalar("select sum(total_revenue) from marts.agent_analytics") == revenue_in_raw
