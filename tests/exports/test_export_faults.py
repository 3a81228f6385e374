"""SIGKILL during exports: BigQuery's day holds the old rows or the new ones, never a mix, never twice."""

from __future__ import annotations

import random
import time

import psycopg

from datamove.export import export_day
from datamove.export_specs import EXPORTS
from tests.bigquery_fixtures import BigQueryEmulator
from tests.crash import SURVIVED, CrashRunner
from tests.exports.conftest import DAYS, ScratchMarts, mart_day
from tests.exports.test_export import _bigquery_day, _same

POINTS = ["export.parquet_written", "export.before_load", "export.loaded"]
RANDOM_KILLS = 5


def test_sigkill_during_exports_never_leaves_a_partial_or_doubled_day(
        marts: ScratchMarts, bigquery: BigQueryEmulator, dataset: str, crash_runner: CrashRunner) -> None:
    spec, day = EXPORTS["customer_behavior"], DAYS[0]
    client = bigquery.client()
    table_id = f"{bigquery.project}.{dataset}.customer_behavior"
    args = {"read_dsn": marts.read_dsn, "dataset": dataset, "day": day, "source_schema": marts.schema}
    child = {**args, "export": spec.name, "project": bigquery.project, "location": bigquery.location,
             "endpoint": bigquery.endpoint}
    started = time.perf_counter()
    export_day(spec, client=client, **args)
    duration = time.perf_counter() - started
    chance = random.Random(7)
    plan = [("point", p) for p in POINTS] + [("random", None)] * RANDOM_KILLS
    crashes = attempts = 0
    for kind, point in plan:
        while True:
            attempts += 1
            assert attempts < 6 * len(plan), "the random kills keep missing the export"
            with psycopg.connect(marts.owner_dsn) as conn:  # new content for the day: the export must replace it
                conn.execute(f"UPDATE {marts.relation('customer_behavior')} SET revenue = revenue + 1 "
                             "WHERE day = %s", (day,))
                conn.execute(f"DELETE FROM {marts.relation('customer_behavior')} WHERE day = %s AND customer_id = "
                             f"(SELECT max(customer_id) FROM {marts.relation('customer_behavior')} WHERE day = %s)",
                             (day, day))
            before = _bigquery_day(client, table_id, day, "customer_id", "revenue")
            expected = mart_day(marts, "customer_behavior", day, "customer_id", "revenue")
            if kind == "point":
                crashed = crash_runner.crash_at("export", point, **child)
                assert crashed, point
            else:
                crashed = crash_runner.crash_after("export", chance.uniform(0.05, duration), **child)
            after = _bigquery_day(client, table_id, day, "customer_id", "revenue")
            assert after[0] == after[2], "a row was loaded twice"
            assert _same(after, before) or _same(after, expected), f"partial day after a crash ({kind} {point})"
            started = time.perf_counter()
            export_day(spec, client=client, **args)
            duration = max(0.2, time.perf_counter() - started)  # what an uninterrupted export takes now
            assert _same(_bigquery_day(client, table_id, day, "customer_id", "revenue"), expected)
            if crashed:
                crashes += 1
                break
    SURVIVED["export"] += crashes
    assert crashes == len(plan)
