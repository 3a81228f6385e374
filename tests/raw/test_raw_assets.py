"""The raw layer: partitions equal the source, re-runs replace exactly, backfills run once."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from foundation.catalog import PARTITIONED_TABLES, SOURCE_TABLES, SOURCE_TABLES_BY_NAME, SourceTable
from orchestration.defs.raw.assets import raw_assets
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import postgres_resources
from tests.conftest import LoadedWarehouse
from tests.fingerprints import duplicated_keys, loaded_fingerprint, source_fingerprint

TASKS = SOURCE_TABLES_BY_NAME["tasks"]


def _raw_asset(table: SourceTable):  # type: ignore[no-untyped-def]
    return next(a for a in raw_assets if a.key == AssetKey(["raw", table.name]))


def _raw_tasks_asset():  # type: ignore[no-untyped-def]
    return _raw_asset(TASKS)


def test_partition_equals_source_and_reruns_are_identical(warehouse: LoadedWarehouse) -> None:
    """Every partitioned table, not only tasks: a day's raw + quarantine is the source's day, run after run."""
    settings = warehouse.settings
    day = warehouse.window.end - timedelta(days=3)
    source = {t.name: source_fingerprint(settings.app_dsn, t, day) for t in PARTITIONED_TABLES}  # type: ignore[arg-type]
    assert all(rows > 0 for rows, _ in source.values()), source

    for run in range(3):  # the session's load, then two runs of the day's partition
        if run:
            result = materialize([_raw_asset(t) for t in PARTITIONED_TABLES], partition_key=day.isoformat(),
                                 resources=postgres_resources())
            assert result.success
            for event in result.get_asset_materialization_events():
                metadata = event.materialization.metadata
                quarantined = metadata["quarantined_rows"].value if "quarantined_rows" in metadata else 0
                rows = metadata["dagster/row_count"].value + quarantined  # type: ignore[operator]
                assert rows == source[event.asset_key.path[-1]][0] and metadata["reconciled"].value is True
        for table in PARTITIONED_TABLES:
            assert loaded_fingerprint(settings.warehouse_dsn, table, day) == source[table.name], (run, table.name)  # type: ignore[arg-type]
            assert duplicated_keys(settings.warehouse_dsn, table, day) == 0, (run, table.name)  # type: ignore[arg-type]


def test_range_backfill_is_one_run_covering_every_day(warehouse: LoadedWarehouse) -> None:
    settings = warehouse.settings
    first, last = warehouse.window.start, warehouse.window.end - timedelta(days=1)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [_raw_tasks_asset()], resources=postgres_resources(), instance=instance,
            tags={"dagster/asset_partition_range_start": first.isoformat(),
                  "dagster/asset_partition_range_end": last.isoformat()},
        )
        assert result.success
        assert len(instance.get_runs()) == 1
        events = result.get_asset_materialization_events()
        assert {e.materialization.partition for e in events} == {
            (first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)}
    with psycopg.connect(settings.app_dsn) as app, psycopg.connect(settings.warehouse_dsn) as wh:  # type: ignore[arg-type]
        (source,) = app.execute("select count(*) from tasks").fetchone()  # type: ignore[misc]
        (raw,) = wh.execute("select count(*) from raw.tasks").fetchone()  # type: ignore[misc]
        quarantined = _quarantined_ids(wh, "tasks")
    assert raw + len(quarantined) == source


def test_definitions_load_with_every_raw_asset_and_partitions() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for table in SOURCE_TABLES:
        node = graph.get(AssetKey(["raw", table.name]))
        assert node.group_name == "raw"
        if table.partitioned:
            assert node.partitions_def == daily_partitions
        else:
            assert node.partitions_def is None
    assert len(PARTITIONED_TABLES) == 11
    schedule = defs.resolve_schedule_def("daily_pipeline_job_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert AssetKey(["raw", "tasks"]) in defs.resolve_job_def("daily_pipeline_job").asset_layer.selected_asset_keys


def _quarantined_ids(conn: psycopg.Connection, table: str) -> set[int]:
    if not conn.execute("select to_regclass(%s)", (f"quarantine.{table}",)).fetchone()[0]:  # type: ignore[index]
        return set()
    return {r for (r,) in conn.execute(f"select id from quarantine.{table}")}


@pytest.mark.parametrize("table_name", ["tasks", "agents"])
def test_every_source_row_is_extracted(warehouse: LoadedWarehouse, table_name: str) -> None:
    with psycopg.connect(warehouse.settings.app_dsn) as app, \
            psycopg.connect(warehouse.settings.warehouse_dsn) as wh:  # type: ignore[arg-type]
        source = {r for (r,) in app.execute(f"select id from public.{table_name}")}
        raw = {r for (r,) in wh.execute(f"select id from raw.{table_name}")}
        quarantined = _quarantined_ids(wh, table_name)
    assert raw.isdisjoint(quarantined)
    assert source == raw | quarantined
