"""The daily marts reconcile with raw, day by day, on the simulated history (what the demo builds)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
import yaml
from dagster import AssetKey

from orchestration.defs.quality.checks import RECONCILIATION_CHECK, reconciliation_result
from orchestration.lib.dbt_project import DBT_PROJECT_DIR
from quality.reconcile import RECONCILED_MARTS, TASK_COMPLETION_LOOKBACK_DAYS, reconcile, reconcile_day
from tests.conftest import LoadedWarehouse
from tests.defs_helpers import domain_defs
from tests.marts.conftest import DbtBuild


@pytest.mark.parametrize("mart", sorted(RECONCILED_MARTS))
def test_every_day_of_the_simulated_history_reconciles(mart: str, warehouse: LoadedWarehouse,
                                                       built_marts: DbtBuild, warehouse_dsn: str) -> None:
    assert built_marts.returncode == 0, built_marts.output[-3000:]
    days = reconcile(warehouse_dsn, mart, warehouse.window.start, warehouse.window.end)
    assert len(days) == (warehouse.window.end - warehouse.window.start).days
    assert [d.describe() for d in days if not d.reconciled] == []
    assert any(raw > 0 for d in days for _, raw in d.values.values()), "nothing was compared"


def test_a_mismatch_names_mart_day_and_difference(warehouse: LoadedWarehouse, built_marts: DbtBuild,
                                                  warehouse_dsn: str) -> None:
    day = warehouse.window.end - timedelta(days=3)
    with psycopg.connect(warehouse_dsn) as conn:  # rolled back: the shared warehouse stays as it was
        task_id = conn.execute(
            "SELECT id FROM raw.tasks WHERE status = 'completed' AND (completed_at AT TIME ZONE 'UTC')::date = %s "
            "LIMIT 1", (day,)).fetchone()[0]  # type: ignore[index]
        # a task that vanishes from the mart without a row that says why (an inner join, a lost row)
        conn.execute("UPDATE raw.tasks SET revenue = revenue + 7 WHERE id = %s", (task_id,))
        result = reconcile_day(conn, RECONCILED_MARTS["agent_analytics"], day)
        conn.rollback()
    assert not result.reconciled
    assert [(m.measure, m.difference) for m in result.mismatches] == [("total_revenue", Decimal("-7.00"))]
    assert result.describe().startswith(f"marts.agent_analytics {day}: total_revenue is ")
    check = reconciliation_result(AssetKey(["marts", "agent_analytics"]), [result])
    assert not check.passed and check.severity.value == "ERROR"
    assert f"marts.agent_analytics {day}" in (check.description or "") and "difference -7.00" in check.description
    assert check.metadata["mismatches"].value[0]["difference"] == "-7.00"


def test_reconciliation_checks_are_blocking_and_partitioned_per_daily_mart() -> None:
    specs = {tuple(s.asset_key.path): s for c in domain_defs("quality").asset_checks for s in c.check_specs
             if s.name == RECONCILIATION_CHECK}
    assert set(specs) == {("marts", m) for m in RECONCILED_MARTS}
    assert all(s.blocking and s.partitions_def is not None for s in specs.values())


def test_the_lookback_is_the_marts_own() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["task_completion_lookback_days"] == TASK_COMPLETION_LOOKBACK_DAYS


def test_the_daily_pipeline_runs_the_checks_with_each_partition() -> None:
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def("daily_pipeline_job")
    keys = {dg.AssetCheckKey(dg.AssetKey(["marts", m]), RECONCILIATION_CHECK) for m in RECONCILED_MARTS}
    assert keys <= set(job.asset_layer.asset_graph.asset_check_keys)
    assert job.partitions_def is not None
