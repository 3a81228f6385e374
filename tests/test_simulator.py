"""The simulator: deterministic, scaled, with every catalogued defect planted."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from orchestration.simulator import SIMULATED_TABLES, generate
from orchestration.simulator.context import SimContext
from orchestration.simulator.defects import DEFECTS, defect_rates
from orchestration.simulator.scales import get_scale

END = date(2026, 6, 1)


def _frames(seed: int) -> dict[str, pd.DataFrame]:
    tables, _ = generate(seed=seed, scale="tiny", days=14, end_date=END)
    return tables


def test_same_seed_and_scale_give_identical_data() -> None:
    first, second = _frames(7), _frames(7)
    for name in SIMULATED_TABLES:
        pd.testing.assert_frame_equal(first[name], second[name], check_like=False)


def test_another_seed_gives_other_data() -> None:
    assert not _frames(7)["tasks"].equals(_frames(8)["tasks"])


def test_full_scale_has_a_million_tasks_in_90_days() -> None:
    ctx = SimContext(seed=7, scale=get_scale("full"), days=90, end_date=END, rates={})
    assert ctx.daily_counts("tasks", ctx.scale.tasks_per_day).sum() >= 1_000_000


def test_every_defect_kind_is_planted_and_reported() -> None:
    _, report = generate(seed=7, scale="tiny", days=14, end_date=END, defects=0.02)
    planted_kinds = {key.split(":")[0] for key, count in report.defects_planted.items() if count > 0}
    assert planted_kinds == {d.name for d in DEFECTS}


def test_defects_can_be_switched_off_and_rates_validated() -> None:
    tables, report = generate(seed=7, scale="tiny", days=14, end_date=END, defects=0.0)
    assert report.defects_planted == {}
    tasks = tables["tasks"]
    assert tasks.revenue.min() >= 0 and tasks.task_ref.is_unique and tasks.customer_id.notna().all()
    with pytest.raises(ValueError, match="unknown defect kind"):
        defect_rates({"not_a_defect": 0.1})


def test_the_history_ends_when_its_window_ends() -> None:
    # A task that would finish after the window is still running in the app's snapshot. A completion
    # after the window's end was in the future whenever the history was made early in the day: the
    # quarantine and staging then disagreed about it, and which rows did depended on the hour.
    tables, _ = generate(seed=7, scale="tiny", days=14, end_date=END, defects=0.0)
    tasks, end = tables["tasks"], pd.Timestamp(END, tz="UTC")
    assert tasks.created_at.max() < end and tasks.updated_at.max() < end
    assert tasks.completed_at.dropna().max() < end
    late_running = tasks[(tasks.status == "in_progress") & (tasks.created_at >= end - pd.Timedelta(hours=3))]
    assert len(late_running) > 0 and late_running.completed_at.isna().all()
    assert late_running.rating.isna().all() and (late_running.revenue == 0).all()


def test_planted_signal_has_known_ceilings() -> None:
    _, report = generate(seed=7, scale="small", days=30, end_date=END, defects=0.0)
    assert 0.5 < report.ceilings["trajectory_r2"] < 1
    assert 0.5 < report.ceilings["complexity_r2"] < 1
    assert 0.3 < report.ceilings["rework_f1"] < 1


def test_live_mode_appends_rows_stamped_now(scratch_database) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    from foundation.settings import now
    from orchestration.simulator import simulate
    from orchestration.simulator.live import run_live

    dsn = scratch_database("app_live")
    simulate(dsn, seed=7, scale="tiny", days=3)
    # "now" is the platform's clock, which the rows are stamped with (the session's pinned day: not the
    # database's clock, a day ahead once a run crosses midnight UTC)
    query = "select count(*), max(created_at) > %s - interval '1 minute' from {}"
    with psycopg.connect(dsn) as conn:
        before = {t: conn.execute(query.format(t), (now(),)).fetchone()[0] for t in ("tasks", "chat_messages", "llm_usage")}
    run_live(dsn, seed=7, scale="tiny", interval=0.01, batches=2)
    with psycopg.connect(dsn) as conn:
        for table, count in before.items():
            after, fresh = conn.execute(query.format(table), (now(),)).fetchone()
            assert after > count and fresh, table


def test_planted_churn_stops_all_activity_and_has_a_known_ceiling() -> None:
    tables, report = generate(seed=7, scale="small", days=60, end_date=END, defects=0.0)
    assert 0.8 < report.ceilings["churn_auc"] < 1 and 0 < report.ceilings["churn_positive_rate"] < 0.2
    assert 0.3 < report.ceilings["unified_r2"] < 1
    customers = tables["customers"]
    churned = customers[customers.status == "churned"].set_index("id").updated_at
    assert len(churned) > 0
    for name, column in (("tasks", "created_at"), ("trials", "created_at")):
        rows = tables[name].dropna(subset=["customer_id"])
        left = rows.customer_id.map(churned)
        # no task or trial of a churned customer on or after the day it left
        assert not (rows[column].dt.floor("D") >= left.dt.floor("D")).any(), name
    assert report.ceilings["churned_customers"] == (customers.updated_at[customers.status == "churned"]
                                                    >= pd.Timestamp(END, tz="UTC") - pd.Timedelta(days=60)).sum()
