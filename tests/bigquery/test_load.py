"""Loading daily Parquet into BigQuery (the real emulator): idempotent, reconciled, all-or-nothing."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.cloud.bigquery import Client, SchemaField

from datamove.bigquery import (
    BigQueryLoadError,
    SchemaMismatchError,
    ensure_dataset,
    ensure_day_partitioned_table,
    load_table,
    replace_day_partition,
)
from tests.bigquery_fixtures import BigQueryEmulator

SCHEMA = [
    SchemaField("day", "DATE", mode="REQUIRED"),
    SchemaField("id", "INT64", mode="REQUIRED"),
    SchemaField("revenue", "NUMERIC"),
    SchemaField("created_at", "TIMESTAMP"),
    SchemaField("label", "STRING"),
]
DAY_1, DAY_2 = date(2024, 3, 1), date(2024, 3, 2)


def day_rows(day: date, ids: range, revenue: str = "10.125") -> pa.Table:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return pa.table(
        {
            "day": pa.array([day] * len(ids), pa.date32()),
            "id": pa.array(list(ids), pa.int64()),
            "revenue": pa.array([Decimal(revenue) + i for i in ids], pa.decimal128(38, 9)),
            "created_at": pa.array([start + timedelta(minutes=i) for i in ids], pa.timestamp("us", tz="UTC")),
            "label": pa.array([f"row {i}" for i in ids]),
        }
    )


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def revenue_of(table: pa.Table) -> Decimal:
    return sum(table.column("revenue").to_pylist(), Decimal(0))


def day_summary(client: Client, table_id: str, day: date) -> tuple[int, Decimal | None, list[int]]:
    rows = list(
        client.query(
            f"SELECT id, revenue FROM `{table_id}` WHERE day = DATE '{day.isoformat()}' ORDER BY id"  # noqa: S608
        ).result()
    )
    return len(rows), sum((r["revenue"] for r in rows), Decimal(0)) if rows else None, [r["id"] for r in rows]


def table_names(client: Client, dataset_id: str) -> list[str]:
    return sorted(t.table_id for t in client.list_tables(dataset_id))


@pytest.fixture
def dataset(bigquery: BigQueryEmulator) -> str:
    dataset_id = bigquery.new_dataset_id("load")
    ensure_dataset(bigquery.client(), dataset_id, "US")
    return dataset_id


@pytest.fixture
def daily_table(bigquery: BigQueryEmulator, dataset: str) -> str:
    table_id = f"{dataset}.agent_performance"
    ensure_day_partitioned_table(bigquery.client(), table_id, SCHEMA, "day")
    return table_id


def test_dataset_and_day_partitioned_table_with_explicit_schema(
    bigquery: BigQueryEmulator, dataset: str
) -> None:
    client = bigquery.client()
    assert ensure_dataset(client, dataset, "US").location == "US"  # idempotent
    table_id = f"{dataset}.revenue_metrics"
    for _ in range(2):  # idempotent
        table = ensure_day_partitioned_table(client, table_id, SCHEMA, "day")
    table = client.get_table(table_id)
    assert table.time_partitioning.field == "day" and table.time_partitioning.type_ == "DAY"
    assert [(f.name, f.field_type, f.mode) for f in table.schema] == [
        ("day", "DATE", "REQUIRED"),
        ("id", "INT64", "REQUIRED"),
        ("revenue", "NUMERIC", "NULLABLE"),
        ("created_at", "TIMESTAMP", "NULLABLE"),
        ("label", "STRING", "NULLABLE"),
    ]
    with pytest.raises(SchemaMismatchError, match="exists with schema"):
        ensure_day_partitioned_table(client, table_id, [*SCHEMA, SchemaField("extra", "STRING")], "day")
    with pytest.raises(SchemaMismatchError, match="not DATE/TIMESTAMP"):
        ensure_day_partitioned_table(client, f"{dataset}.bad", SCHEMA, "label")


def test_replacing_a_day_three_times_keeps_it_once_and_other_days_untouched(
    bigquery: BigQueryEmulator, daily_table: str
) -> None:
    client = bigquery.client()
    day_1 = day_rows(DAY_1, range(0, 50))
    first = replace_day_partition(
        client, daily_table, DAY_1, parquet(day_1), SCHEMA, checksum_column="revenue"
    )
    assert (first.rows, first.checksum) == (50, revenue_of(day_1))

    for attempt, ids in enumerate((range(100, 130), range(100, 130), range(200, 240))):
        day_2 = day_rows(DAY_2, ids, revenue=f"{attempt}.5")
        result = replace_day_partition(
            client, daily_table, DAY_2, parquet(day_2), SCHEMA, checksum_column="revenue"
        )
        assert (result.day, result.rows, result.checksum) == (DAY_2, len(ids), revenue_of(day_2))
        assert isinstance(result.checksum, Decimal)  # NUMERIC stays exact end to end
        assert day_summary(client, daily_table, DAY_2) == (len(ids), revenue_of(day_2), list(ids))
        assert day_summary(client, daily_table, DAY_1) == (50, revenue_of(day_1), list(range(50)))

    total = next(iter(client.query(f"SELECT COUNT(*) AS n FROM `{daily_table}`").result()))["n"]  # noqa: S608
    assert total == 50 + 40
    assert table_names(client, daily_table.rsplit(".", 1)[0]) == ["agent_performance"]  # staging dropped


def test_an_empty_day_clears_that_day(bigquery: BigQueryEmulator, daily_table: str) -> None:
    client = bigquery.client()
    replace_day_partition(client, daily_table, DAY_1, parquet(day_rows(DAY_1, range(5))), SCHEMA)
    result = replace_day_partition(
        client, daily_table, DAY_1, parquet(day_rows(DAY_1, range(0))), SCHEMA, "revenue"
    )
    assert (result.rows, result.checksum) == (0, None)
    assert day_summary(client, daily_table, DAY_1) == (0, None, [])


def test_types_round_trip_and_columns_are_matched_by_name(
    bigquery: BigQueryEmulator, daily_table: str, tmp_path: Path
) -> None:
    client = bigquery.client()
    source = day_rows(DAY_1, range(3))
    path = tmp_path / "day.parquet"
    pq.write_table(
        source.select(["label", "created_at", "id", "revenue", "day"]), path
    )  # another column order
    result = replace_day_partition(client, daily_table, DAY_1, path, SCHEMA, checksum_column="id")
    assert (result.rows, result.checksum) == (3, 0 + 1 + 2)
    rows = [dict(r) for r in client.query(f"SELECT * FROM `{daily_table}` ORDER BY id").result()]  # noqa: S608
    assert rows == source.to_pylist()


def test_a_failed_load_reports_the_job_error_and_leaves_the_day_intact(
    bigquery: BigQueryEmulator, daily_table: str
) -> None:
    client = bigquery.client()
    good = day_rows(DAY_1, range(10))
    replace_day_partition(client, daily_table, DAY_1, parquet(good), SCHEMA)

    bad = good.set_column(1, "id", pa.array(["not a number"] * 10))  # STRING where the schema says INT64
    with pytest.raises(BigQueryLoadError, match="load job .* failed: .*not a number") as failure:
        replace_day_partition(client, daily_table, DAY_1, parquet(bad), SCHEMA)
    assert "INT64" in str(failure.value)  # the job's own message, not a generic one

    with pytest.raises(BigQueryLoadError, match="10 of 10 rows are not on 2024-03-02"):
        replace_day_partition(client, daily_table, DAY_2, parquet(good), SCHEMA)
    with pytest.raises(SchemaMismatchError, match=r"missing \['label'\]"):
        replace_day_partition(client, daily_table, DAY_1, parquet(good.drop_columns(["label"])), SCHEMA)

    assert day_summary(client, daily_table, DAY_1) == (10, revenue_of(good), list(range(10)))
    assert day_summary(client, daily_table, DAY_2)[0] == 0
    assert table_names(client, daily_table.rsplit(".", 1)[0]) == ["agent_performance"]


def test_a_new_day_is_appended_by_one_load_job_and_a_failed_one_loads_nothing(
    bigquery: BigQueryEmulator, daily_table: str
) -> None:
    client = bigquery.client()
    day_1 = day_rows(DAY_1, range(20))
    first = replace_day_partition(client, daily_table, DAY_1, parquet(day_1), SCHEMA, checksum_column="revenue")
    # The day was empty: its rows went straight into the table, no staging table.
    assert client.get_job(first.load_job_id).destination.table_id == "agent_performance"
    assert (first.rows, first.checksum) == (20, revenue_of(day_1))

    good = day_rows(DAY_2, range(100, 110))
    bad = good.set_column(1, "id", pa.array(["not a number"] * 10))
    with pytest.raises(BigQueryLoadError, match="load job .* failed: .*not a number"):
        replace_day_partition(client, daily_table, DAY_2, parquet(bad), SCHEMA)
    truncated = parquet(good)[:-64]
    with pytest.raises(BigQueryLoadError, match="unreadable Parquet"):
        replace_day_partition(client, daily_table, DAY_2, truncated, SCHEMA)
    assert day_summary(client, daily_table, DAY_2) == (0, None, [])
    assert day_summary(client, daily_table, DAY_1) == (20, revenue_of(day_1), list(range(20)))

    # The day is now held: a re-run replaces it through a staging table.
    again = replace_day_partition(client, daily_table, DAY_1, parquet(day_1), SCHEMA, checksum_column="revenue")
    assert client.get_job(again.load_job_id).destination.table_id.startswith("_stage_agent_performance_")
    assert day_summary(client, daily_table, DAY_1) == (20, revenue_of(day_1), list(range(20)))
    assert table_names(client, daily_table.rsplit(".", 1)[0]) == ["agent_performance"]


def test_timestamp_partitioned_table_replaces_the_utc_day(bigquery: BigQueryEmulator, dataset: str) -> None:
    client = bigquery.client()
    schema = [SchemaField("created_at", "TIMESTAMP", mode="REQUIRED"), SchemaField("tokens", "INT64")]
    table_id = f"{dataset}.llm_usage"
    ensure_day_partitioned_table(client, table_id, schema, "created_at")

    def at(day: date, n: int) -> bytes:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)  # first and last second of the day
        stamps = [start + timedelta(seconds=(86399 if i % 2 else 0)) for i in range(n)]
        return parquet(
            pa.table({"created_at": pa.array(stamps, pa.timestamp("us", tz="UTC")), "tokens": list(range(n))})
        )

    replace_day_partition(client, table_id, DAY_1, at(DAY_1, 4), schema, checksum_column="tokens")
    replace_day_partition(client, table_id, DAY_2, at(DAY_2, 6), schema, checksum_column="tokens")
    result = replace_day_partition(client, table_id, DAY_1, at(DAY_1, 2), schema, checksum_column="tokens")
    assert (result.rows, result.checksum) == (2, 1)
    sql = f"SELECT DATE(created_at) AS d, COUNT(*) AS n FROM `{table_id}` GROUP BY d ORDER BY d"  # noqa: S608
    counts = client.query(sql)
    assert [(r["d"], r["n"]) for r in counts.result()] == [(DAY_1, 2), (DAY_2, 6)]


def test_load_table_replaces_the_whole_table_and_survives_a_failed_load(
    bigquery: BigQueryEmulator, dataset: str
) -> None:
    client = bigquery.client()
    table_id = f"{dataset}.demo_customers"
    first = day_rows(DAY_1, range(20))
    assert load_table(client, table_id, parquet(first), SCHEMA, checksum_column="revenue") == 20
    second = pa.concat_tables([day_rows(DAY_1, range(5)), day_rows(DAY_2, range(5, 12))])
    assert load_table(client, table_id, parquet(second), SCHEMA) == 12

    bad = second.set_column(0, "day", pa.array(["yesterday"] * 12))
    with pytest.raises(BigQueryLoadError, match="yesterday"):
        load_table(client, table_id, parquet(bad), SCHEMA)
    ids = [r["id"] for r in client.query(f"SELECT id FROM `{table_id}` ORDER BY id").result()]  # noqa: S608
    assert ids == list(range(12))
    assert table_names(client, dataset) == ["demo_customers"]
