"""The raw layer: partitions equal the source, re-runs replace exactly, backfills run once."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from foundation.catalog import PARTITIONED_TABLES, SOURCE_TABLES, SOURCE_TABLES_BY_NAME
from orchestration.defs.raw.assets import raw_assets
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import postgres_resources
from tests.conftest import LoadedWarehouse

TASKS = SOURCE_TABLES_BY_NAME["tasks"]
_CHECKSUM = "select count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) from ({}) t"


def _source_fingerprint(dsn: str, day: date) -> tuple[int, int]:
    cols = ", ".join(TASKS.columns)
    inner = (f"select {cols} from public.tasks where created_at >= '{day}' and created_at < '{day + timedelta(days=1)}'")
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
        return conn.execute(_CHECKSUM.format(inner)).fetchone()  # type: ignore[return-value]


def _raw_fingerprint(dsn: str, day: date) -> tuple[int, int]:
    """Raw plus quarantine (when the quality layer moved bad rows there): together they are the source."""
    cols = ", ".join(TASKS.columns)
    inner = f"select {cols} from raw.tasks where _partition_date = '{day}'"
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
        if conn.execute("select to_regclass('quarantine.tasks')").fetchone()[0]:  # type: ignore[index]
            inner += f" union all select {cols} from quarantine.tasks where _partition_date = '{day}'"
        return conn.execute(_CHECKSUM.format(inner)).fetchone()  # type: ignore[return-value]


def _raw_tasks_asset():  # type: ignore[no-untyped-def]
    return next(a for a in raw_assets if a.key == AssetKey(["raw", "tasks"]))


def test_partition_equals_source_and_reruns_are_identical(warehouse: LoadedWarehouse) -> None:
    settings = warehouse.settings
    day = warehouse.window.end - timedelta(days=3)
    source = _source_fingerprint(settings.app_dsn, day)  # type: ignore[arg-type]
    assert source[0] > 0

    fingerprints = []
    for _ in range(3):
        result = materialize([_raw_tasks_asset()], partition_key=day.isoformat(), resources=postgres_resources())
        assert result.success
        fingerprints.append(_raw_fingerprint(settings.warehouse_dsn, day))  # type: ignore[arg-type]
        metadata = result.get_asset_materialization_events()[0].materialization.metadata
        quarantined = metadata["quarantined_rows"].value if "quarantined_rows" in metadata else 0
        assert metadata["dagster/row_count"].value + quarantined == source[0]
        assert metadata["reconciled"].value is True
    assert fingerprints == [source, source, source]
    with psycopg.connect(settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        (duplicates,) = conn.execute(
            "select count(*) - count(distinct id) from raw.tasks where _partition_date = %s", (day,)).fetchone()  # type: ignore[misc]
    assert duplicates == 0


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
