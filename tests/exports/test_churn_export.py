"""customer_behavior's churn_probability: joined from ml.churn_scores at export time, on the real emulator,
and a table from before the column existed migrated in place."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from google.cloud import bigquery as bq

from datamove.export import export_day
from datamove.export_specs import EXPORTS
from ml.models.predictions import CHURN_SCORES
from tests.bigquery_fixtures import BigQueryEmulator
from tests.exports.conftest import DAYS, ScratchMarts

SPEC = EXPORTS["customer_behavior"]
SCORED_DAY = DAYS[1]


def _probability(customer_id: int) -> float:
    return round(customer_id / 100, 4)


@pytest.fixture
def churn_scores(marts: ScratchMarts) -> Iterator[dict[int, date]]:
    """ml.churn_scores as the churn_scores asset writes it: one row per customer, of its latest feature day.

    Customers 1-50 scored on SCORED_DAY, 51-60 on the day before, 61-65 without history (no score);
    the rest have no row. Dropped afterwards: nothing else in the session's warehouse has it.
    """
    feature_days = {c: SCORED_DAY for c in range(1, 51)} | {c: DAYS[0] for c in range(51, 61)}
    with psycopg.connect(marts.owner_dsn) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS ml")
        conn.execute(f"CREATE TABLE {CHURN_SCORES.qualified} ({CHURN_SCORES.ddl})")
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {CHURN_SCORES.qualified} (customer_id, feature_day, churn_probability, score_status,"  # noqa: S608
                " model_id, predicted_at) VALUES (%s, %s, %s, %s, 1, %s)",
                [(c, day, _probability(c), "scored", datetime.now(UTC)) for c, day in feature_days.items()]
                + [(c, SCORED_DAY, None, "no_history", datetime.now(UTC)) for c in range(61, 66)])
    yield feature_days
    with psycopg.connect(marts.owner_dsn) as conn:
        conn.execute(f"DROP TABLE {CHURN_SCORES.qualified}")


def _exported(client: bq.Client, table_id: str, day: date) -> dict[int, float | None]:
    job = client.query(f"SELECT customer_id, churn_probability FROM `{table_id}` WHERE day = @day",
                       job_config=bq.QueryJobConfig(query_parameters=[bq.ScalarQueryParameter("day", "DATE", day)]))
    return {row["customer_id"]: row["churn_probability"] for row in job.result()}


def test_customer_behavior_carries_the_churn_probability_of_the_exported_day(
        marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str, churn_scores: dict[int, date]) -> None:
    client = bigquery.client()
    for day in (SCORED_DAY, DAYS[0]):
        result = export_day(SPEC, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=day,
                            source_schema=marts.schema)
        exported = _exported(client, result.table_id, day)
        assert len(exported) == result.rows == 200  # one row per customer of the mart's day, none added by the join
        # the score of that day's features; NULL for a customer scored on another day, unscored, or without a row
        assert exported == {c: _probability(c) if churn_scores.get(c) == day else None for c in range(1, 201)}


def test_a_table_from_before_churn_probability_gains_the_column_in_place(
        marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str, churn_scores: dict[int, date]) -> None:
    client = bigquery.client()
    # the export as the release before churn_probability ran it: it created the table and loaded a day
    earlier = dataclasses.replace(SPEC, schema=SPEC.schema[:-1], enrichment=None, added_columns=())
    export_day(earlier, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=DAYS[0],
               source_schema=marts.schema)

    result = export_day(SPEC, read_dsn=marts.read_dsn, client=client, dataset=dataset, day=SCORED_DAY,
                        source_schema=marts.schema)
    table = client.get_table(result.table_id)
    assert [(f.name, f.field_type, f.mode) for f in table.schema] == [
        (f.name, f.field_type, f.mode) for f in SPEC.schema]
    assert set(_exported(client, result.table_id, DAYS[0]).values()) == {None}  # earlier rows kept, read NULL
    scored = _exported(client, result.table_id, SCORED_DAY)
    assert scored[1] == _probability(1) and len(scored) == result.rows == 200


def test_only_trailing_nullable_columns_can_be_declared_added() -> None:
    assert dataclasses.replace(SPEC, added_columns=("tenure_days", "churn_probability"))
    with pytest.raises(ValueError, match="must be the schema's last, NULLABLE"):
        dataclasses.replace(SPEC, added_columns=("industry",))  # not at the end: loads insert by position
    with pytest.raises(ValueError, match="must be the schema's last, NULLABLE"):
        dataclasses.replace(SPEC, schema=(*SPEC.schema[1:], SPEC.schema[0]), added_columns=("day",))  # REQUIRED
