"""A backfill of many days as one run reports each day on its own partition: its rows, and each
check's result, as the UI shows them per day."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from dagster import AssetCheckKey, AssetKey, DagsterInstance, materialize
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from orchestration.defs.quality.checks import evaluate_suite, raw_quality_checks
from orchestration.defs.raw.assets import raw_assets
from orchestration.lib.partition_events import WINDOW_SUMMARY
from orchestration.lib.resources import postgres_resources
from quality.rules import RAW_SUITES
from tests.conftest import LoadedWarehouse

TASKS = AssetKey(["raw", "tasks"])


def test_a_range_run_reports_each_day_on_its_partition(warehouse: LoadedWarehouse) -> None:
    last = warehouse.window.end - timedelta(days=2)
    days = [(last - timedelta(days=i)).isoformat() for i in (2, 1, 0)]
    asset = next(a for a in raw_assets if a.key == TASKS)
    checks = next(c for c in raw_quality_checks if TASKS in {k.asset_key for k in c.check_keys})
    with DagsterInstance.ephemeral() as instance:
        result = materialize([asset, checks], resources=postgres_resources(), instance=instance,
                             tags={"dagster/asset_partition_range_start": days[0],
                                   "dagster/asset_partition_range_end": days[-1]})
        assert result.success
        # each day's materialization carries that day's rows, as raw holds them
        by_day = {e.materialization.partition: e.materialization.metadata
                  for e in result.get_asset_materialization_events()}
        assert sorted(by_day) == days
        with psycopg.connect(warehouse.settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
            in_raw = dict(conn.execute("select _partition_date::text, count(*) from raw.tasks where "
                                       "_partition_date between %s and %s group by 1", (days[0], days[-1])).fetchall())
        assert {day: m["dagster/row_count"].value for day, m in by_day.items()} == in_raw
        assert all(m["day"].value == day for day, m in by_day.items())
        # the window's totals once, on the last day
        assert [day for day, m in by_day.items() if WINDOW_SUMMARY in m] == [days[-1]]
        summary = by_day[days[-1]][WINDOW_SUMMARY].value
        assert summary["days"] == 3 and summary["rows"] == sum(m["rows"].value for m in by_day.values())  # type: ignore[index]
        assert all("window" not in m for m in by_day.values())

        # every check has a result on every day, about that day's materialization: "N / N passed"
        evaluations = result.get_asset_check_evaluations()
        names = {spec.name for spec in checks.check_specs}
        assert {(e.check_name, e.partition) for e in evaluations} == {(n, d) for n in names for d in days}
        keys = [AssetCheckKey(TASKS, name) for name in names]
        infos = instance.event_log_storage.get_asset_check_partition_info(keys, partition_keys=days)
        assert len(infos) == len(keys) * len(days)
        finished = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
        assert all(i.latest_execution_status in finished and i.is_current for i in infos)
        in_range = {(e.check_name, e.partition): e.passed for e in evaluations}

    # and each day's outcome is the one a run of that day alone gives
    settings = warehouse.settings
    for day in map(date.fromisoformat, days):
        alone = evaluate_suite(RAW_SUITES["tasks"], settings.warehouse_dsn, settings.app_dsn,  # type: ignore[arg-type]
                               day, day + timedelta(days=1), names, None)
        assert {r.check_name: r.passed for r in alone} == {n: in_range[(n, day.isoformat())] for n in names}, day
