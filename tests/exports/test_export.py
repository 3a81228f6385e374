"""Exports to the real BigQuery emulator, read back through the official client."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from dagster import AssetKey, EnvVar, build_resources, materialize
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery as bq

from datamove.export import ExportError, export_day
from datamove.export_specs import EXPORTS
from orchestration.defs.exports.assets import export_assets
from orchestration.lib.resources import BigQueryResource, PostgresResource, bigquery_resource
from tests.bigquery_fixtures import BigQueryEmulator
from tests.defs_helpers import domain_defs
from tests.exports.conftest import DAYS, ScratchMarts, mart_day

KEYS = {"agent_performance": "agent_id", "customer_behavior": "customer_id", "revenue_metrics": "industry"}


def _bigquery_day(client: bq.Client, table_id: str, day: date, key: str, checksum: str) -> tuple[int, object, int]:
    job = client.query(
        f"SELECT COUNT(*) AS n, SUM({checksum}) AS s, COUNT(DISTINCT {key}) AS k FROM `{table_id}` WHERE day = @day",
        job_config=bq.QueryJobConfig(query_parameters=[bq.ScalarQueryParameter("day", "DATE", day)]))
    row = list(job.result())[0]
    return row["n"], row["s"], row["k"]


def _same(a: tuple[int, object, int], b: tuple[int, object, int]) -> bool:
    return a[0] == b[0] and a[2] == b[2] and Decimal(str(a[1] or 0)) == Decimal(str(b[1] or 0))


def test_each_export_loads_a_day_reconciled_with_the_mart(marts: ScratchMarts, bigquery: BigQueryEmulator,
                                                          dataset: str) -> None:
    client = bigquery.client()
    for name, spec in EXPORTS.items():
        result = export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[0],
                            source_schema=marts.schema)
        expected = mart_day(marts, name, DAYS[0], KEYS[name], spec.checksum_column)
        assert result.rows == expected[0] > 0
        assert result.mart_checksum == result.bigquery_checksum == Decimal(str(expected[1]))
        assert result.table_id == f"{bigquery.project}.{dataset}.{name}" and result.bytes > 0
        table = client.get_table(result.table_id)
        assert [(f.name, f.field_type, f.mode) for f in table.schema] == [
            (f.name, f.field_type, f.mode) for f in spec.schema]
        assert table.time_partitioning.field == "day"
        assert _same(_bigquery_day(client, result.table_id, DAYS[0], KEYS[name], spec.checksum_column), expected)


def test_values_arrive_exact_and_typed(marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str) -> None:
    client = bigquery.client()
    spec = EXPORTS["agent_performance"]
    export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[1], source_schema=marts.schema)
    with psycopg.connect(marts.owner_dsn) as conn:
        expected = conn.execute(
            f"SELECT agent_id, agent_name, total_revenue, round(revenue_per_task, 9), avg_rating::float8, "
            f"tasks_completed FROM {marts.relation('agent_performance')} WHERE day = %s ORDER BY agent_id",
            (DAYS[1],)).fetchall()
    rows = client.query(
        f"SELECT agent_id, agent_name, total_revenue, revenue_per_task, avg_rating, tasks_completed "
        f"FROM `{bigquery.project}.{dataset}.agent_performance` WHERE day = '{DAYS[1]}' ORDER BY agent_id").result()
    got = [tuple(r.values()) for r in rows]
    assert len(got) == len(expected)
    for (a_id, a_name, revenue, per_task, rating, done), exp in zip(got, expected, strict=True):
        assert (a_id, a_name, revenue, done) == (exp[0], exp[1], exp[2], exp[5])
        assert per_task == exp[3]  # NUMERIC: exact to BigQuery's 9 decimals
        assert rating == pytest.approx(exp[4]) if exp[4] is not None else rating is None


def test_reexport_replaces_only_its_day(marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str) -> None:
    client = bigquery.client()
    spec = EXPORTS["customer_behavior"]
    for day in DAYS:
        export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=day, source_schema=marts.schema)
    table_id = f"{bigquery.project}.{dataset}.customer_behavior"
    before = {d: _bigquery_day(client, table_id, d, "customer_id", "revenue") for d in DAYS}
    for _ in range(2):
        export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[1],
                   source_schema=marts.schema)
    after = {d: _bigquery_day(client, table_id, d, "customer_id", "revenue") for d in DAYS}
    assert after == before
    total = list(client.query(f"SELECT COUNT(*) AS n FROM `{table_id}`").result())[0]["n"]
    assert total == sum(mart_day(marts, "customer_behavior", d, "customer_id", "revenue")[0] for d in DAYS)


def test_a_type_the_schema_refuses_fails_with_the_job_message_and_keeps_the_day(
        marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str) -> None:
    client = bigquery.client()
    spec = EXPORTS["revenue_metrics"]
    table_id = f"{bigquery.project}.{dataset}.revenue_metrics"
    export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[2], source_schema=marts.schema)
    previous = _bigquery_day(client, table_id, DAYS[2], "industry", "total_revenue")

    drifted = f"{marts.schema}_drift"
    with psycopg.connect(marts.owner_dsn) as conn:  # the mart's column changed type: text where INT64 is declared
        conn.execute(f"CREATE SCHEMA {drifted}")
        conn.execute(f"CREATE TABLE {drifted}.revenue_metrics AS SELECT * FROM {marts.relation('revenue_metrics')}")
        conn.execute(f"ALTER TABLE {drifted}.revenue_metrics ALTER COLUMN active_agents TYPE text")
        conn.execute(f"UPDATE {drifted}.revenue_metrics SET active_agents = 'n/a' WHERE industry = 'sales'")
    try:
        with pytest.raises(ExportError, match=r"load job \S+ failed: .*(n/a|INT64|BIGINT)"):
            export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[2],
                       source_schema=drifted)
    finally:
        with psycopg.connect(marts.owner_dsn) as conn:
            conn.execute(f"DROP SCHEMA {drifted} CASCADE")
    assert _bigquery_day(client, table_id, DAYS[2], "industry", "total_revenue") == previous


@pytest.mark.parametrize(("column", "value", "field_type"), [("error_rate", "NaN", "FLOAT"),
                                                            ("total_revenue", "Infinity", "NUMERIC")])
def test_a_non_finite_value_fails_naming_column_and_day_and_keeps_the_day(
        marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str, column: str, value: str,
        field_type: str) -> None:
    client = bigquery.client()
    spec = EXPORTS["agent_performance"]
    assert next(f for f in spec.schema if f.name == column).field_type == field_type
    table_id = f"{bigquery.project}.{dataset}.agent_performance"
    export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[1], source_schema=marts.schema)
    previous = _bigquery_day(client, table_id, DAYS[1], "agent_id", "total_revenue")

    poisoned = f"{marts.schema}_nan"
    with psycopg.connect(marts.owner_dsn) as conn:  # one NaN / Infinity in one row of the day
        conn.execute(f"CREATE SCHEMA {poisoned}")
        conn.execute(f"CREATE TABLE {poisoned}.agent_performance AS SELECT * FROM {marts.relation('agent_performance')}")
        conn.execute(f"UPDATE {poisoned}.agent_performance SET {column} = '{value}' "
                     "WHERE day = %s AND agent_id = 3", (DAYS[1],))
    try:
        with pytest.raises(ExportError, match=rf"{DAYS[1]}.*non-finite.*column {column} \(1 row"):
            export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[1],
                       source_schema=poisoned)
    finally:
        with psycopg.connect(marts.owner_dsn) as conn:
            conn.execute(f"DROP SCHEMA {poisoned} CASCADE")
    assert _bigquery_day(client, table_id, DAYS[1], "agent_id", "total_revenue") == previous


def test_a_bigquery_table_with_another_schema_is_refused_and_left_alone(
        marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str) -> None:
    client = bigquery.client()
    spec = EXPORTS["revenue_metrics"]
    table_id = f"{bigquery.project}.{dataset}.revenue_metrics"
    client.create_dataset(dataset)
    other = bq.Table(table_id, schema=[bq.SchemaField("day", "DATE"), bq.SchemaField("industry", "STRING"),
                                       bq.SchemaField("total_revenue", "STRING")])
    other.time_partitioning = bq.TimePartitioning(field="day")
    client.create_table(other)
    client.query(f"INSERT INTO `{table_id}` (day, industry, total_revenue) VALUES ('{DAYS[0]}', 'sales', 'x')").result()

    with pytest.raises(ExportError, match="exists with schema"):
        export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[0],
                   source_schema=marts.schema)
    rows = [tuple(r.values()) for r in client.query(f"SELECT industry, total_revenue FROM `{table_id}`").result()]
    assert rows == [("sales", "x")]


def test_export_asset_materializes_with_reconciliation_metadata(marts: ScratchMarts, bigquery: BigQueryEmulator,
                                                                dataset: str) -> None:
    asset = next(a for a in export_assets if a.key == AssetKey(["exports", "revenue_metrics"]))

    def run() -> dict[str, object]:
        result = materialize(
            [asset], partition_key=DAYS[0].isoformat(),
            resources={"replica_db": PostgresResource(dsn=marts.read_dsn),
                       "warehouse_db": PostgresResource(dsn=marts.owner_dsn),
                       "bigquery": BigQueryResource(project=bigquery.project, api_endpoint=bigquery.endpoint)},
            run_config={"ops": {"exports__revenue_metrics": {"config": {"dataset": dataset,
                                                                         "source_schema": marts.schema}}}})
        [event] = result.get_asset_materialization_events()
        return {k: v.value for k, v in event.materialization.metadata.items()}

    expected = mart_day(marts, "revenue_metrics", DAYS[0], "industry", "total_revenue")
    for load_mode in ("append", "replace"):  # the day is new, then a re-run replaces it
        metadata = run()
        assert metadata["rows"] == metadata["dagster/row_count"] == expected[0]
        assert Decimal(metadata["checksum_mart"]) == Decimal(metadata["checksum_bigquery"]) == expected[1]
        assert metadata["bigquery_table"] == f"{bigquery.project}.{dataset}.revenue_metrics"
        assert metadata["bytes"] > 0 and metadata["seconds"] > 0 and metadata["reconciled"] is True
        assert metadata["load_modes"] == load_mode
        assert 0 < metadata["mart_read_seconds"] < metadata["seconds"]  # type: ignore[operator]
    assert mart_day(marts, "revenue_metrics", DAYS[0], "industry", "total_revenue") == expected


def test_definitions_and_resource_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {k.to_user_string() for a in domain_defs("exports").assets for k in a.keys}  # type: ignore[union-attr]
    assert keys == {"exports/agent_performance", "exports/customer_behavior", "exports/revenue_metrics"}
    for asset in export_assets:
        assert asset.group_names_by_key[asset.key] == "exports"
        assert "bigquery" in (asset.specs_by_key[asset.key].kinds or set())
        assert AssetKey(["marts", asset.key.path[-1]]) in asset.dependency_keys
    monkeypatch.delenv("BIGQUERY_API_ENDPOINT", raising=False)
    monkeypatch.delenv("BIGQUERY_PROJECT", raising=False)
    production = bigquery_resource()
    assert production.api_endpoint is None and production.project == "agent-platform-local"
    monkeypatch.setenv("BIGQUERY_API_ENDPOINT", "http://127.0.0.1:9050")
    monkeypatch.setenv("BIGQUERY_PROJECT", "acme-prod")
    emulated = bigquery_resource()
    assert isinstance(emulated.api_endpoint, EnvVar) and isinstance(emulated.project, EnvVar)  # type: ignore[unreachable]
    # what a run gets from the resource: a client of the configured project, at the configured endpoint
    with build_resources({"bigquery": emulated}) as resources:
        client = resources.bigquery.get_client()
    assert client.project == "acme-prod"
    assert client._connection.API_BASE_URL == "http://127.0.0.1:9050"
    assert isinstance(client._credentials, AnonymousCredentials)


def test_a_day_the_mart_no_longer_has_is_emptied(marts: ScratchMarts, bigquery: BigQueryEmulator,
                                                 dataset: str) -> None:
    client = bigquery.client()
    spec = EXPORTS["revenue_metrics"]
    table_id = f"{bigquery.project}.{dataset}.revenue_metrics"
    empty_source = f"{marts.schema}_empty"
    for day in DAYS[:2]:
        export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=day, source_schema=marts.schema)
    with psycopg.connect(marts.owner_dsn) as conn:  # the day was rebuilt and now has no rows
        conn.execute(f"CREATE SCHEMA {empty_source}")
        conn.execute(f"CREATE TABLE {empty_source}.revenue_metrics AS "
                     f"SELECT * FROM {marts.relation('revenue_metrics')} WHERE false")
    try:
        result = export_day(spec, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[0],
                            source_schema=empty_source)
    finally:
        with psycopg.connect(marts.owner_dsn) as conn:
            conn.execute(f"DROP SCHEMA {empty_source} CASCADE")
    assert result.rows == 0 and result.bigquery_checksum is None
    assert _bigquery_day(client, table_id, DAYS[0], "industry", "total_revenue")[0] == 0
    kept = _bigquery_day(client, table_id, DAYS[1], "industry", "total_revenue")
    assert _same(kept, mart_day(marts, "revenue_metrics", DAYS[1], "industry", "total_revenue"))
