"""Export fixtures: scratch tables shaped like the export marts, and a fresh BigQuery dataset per test.

The dbt marts (``marts.agent_performance`` …) are built by another part of the suite; these
tests use their own tables with the same column names and PostgreSQL types (as dbt builds
them) in a scratch schema, so they never race with or depend on a dbt build.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pytest

from foundation.settings import Settings
from tests.bigquery_fixtures import BigQueryEmulator

DAYS = (date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3))

MART_DDL = {
    "agent_performance": """day date, agent_id integer, agent_name text, industry text, tasks_completed bigint,
        avg_rating numeric, total_revenue numeric, efficiency_score numeric, revenue_per_task numeric,
        total_chats bigint, total_messages bigint, avg_response_time_ms numeric, error_rate numeric,
        llm_cost_usd numeric""",
    "customer_behavior": """day date, customer_id integer, industry text, customer_status text,
        tasks_created bigint, tasks_completed bigint, revenue numeric(14, 2), tasks_last_7d bigint,
        avg_rating_last_7d numeric, days_inactive integer, tenure_days integer""",
    "revenue_metrics": """day date, industry text, tasks_completed numeric, total_revenue numeric(16, 2),
        active_agents bigint, revenue_per_task numeric, llm_cost_usd numeric(16, 6),
        gross_margin_usd numeric(16, 6)""",
}

_FILL = {
    "agent_performance": """
        SELECT d, a, 'Agent ' || a, (ARRAY['marketing','education','sales'])[1 + a %% 3], t,
               CASE WHEN t > 0 THEN round((random() * 5)::numeric, 12) END,
               round((random() * 900 * t)::numeric, 2),
               CASE WHEN t > 0 THEN (random() * 10)::numeric END,
               CASE WHEN t > 0 THEN random()::numeric * 1000 / t END,
               (random() * 20)::bigint, (random() * 200)::bigint, (random() * 3000)::numeric(10, 2),
               round(random()::numeric, 4), round((random() * 3)::numeric, 6)
        FROM unnest(%(days)s::date[]) d, generate_series(1, 25) a, LATERAL (SELECT (random() * 6)::bigint + 0 * a AS t) x""",
    "customer_behavior": """
        SELECT d, c, (ARRAY['marketing','education','sales'])[1 + c %% 3], CASE WHEN c %% 7 = 0 THEN 'churned' ELSE 'active' END,
               t, t / 2, round((random() * 400 * t)::numeric, 2), t * 3,
               CASE WHEN t > 0 THEN (random() * 5)::numeric END, (random() * 90)::int, c * 3
        FROM unnest(%(days)s::date[]) d, generate_series(1, 200) c, LATERAL (SELECT (random() * 4)::bigint + 0 * c AS t) x""",
    "revenue_metrics": """
        SELECT d, i, n::numeric, round((random() * 10000)::numeric, 2), (random() * 20)::bigint,
               round((random() * 300)::numeric, 4), round((random() * 50)::numeric, 6), round((random() * 9000)::numeric, 6)
        FROM unnest(%(days)s::date[]) d, unnest(ARRAY['marketing','education','sales']) i,
             LATERAL (SELECT (random() * 40)::bigint AS n) x""",
}


@dataclass(frozen=True)
class ScratchMarts:
    schema: str
    owner_dsn: str
    read_dsn: str  # the read-only reader role, as the replica is in production

    def relation(self, name: str) -> str:
        return f"{self.schema}.{name}"


def create_scratch_marts(settings: Settings, days: tuple[date, ...] = DAYS, seed: float = 0.42) -> ScratchMarts:
    schema = f"export_src_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute("SELECT setseed(%s)", (seed,))
        for name, ddl in MART_DDL.items():
            conn.execute(f"CREATE TABLE {schema}.{name} ({ddl})")
            conn.execute(f"INSERT INTO {schema}.{name} {_FILL[name]}", {"days": list(days)})
    return ScratchMarts(schema, settings.warehouse_dsn, settings.replica_dsn)  # type: ignore[arg-type]


def drop_scratch_marts(marts: ScratchMarts) -> None:
    with psycopg.connect(marts.owner_dsn) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {marts.schema} CASCADE")


@pytest.fixture(scope="module")
def marts(platform: Settings) -> Iterator[ScratchMarts]:
    scratch = create_scratch_marts(platform)
    yield scratch
    drop_scratch_marts(scratch)


@pytest.fixture
def dataset(bigquery: BigQueryEmulator) -> str:
    """A fresh dataset name (the export creates it)."""
    return bigquery.new_dataset_id("exp").split(".")[-1]


def mart_day(marts: ScratchMarts, name: str, day: date, key: str, checksum: str) -> tuple[int, object, int]:
    """count, SUM(checksum column) and count of distinct keys of one mart day."""
    with psycopg.connect(marts.owner_dsn) as conn:
        return conn.execute(  # type: ignore[return-value]
            f"SELECT count(*), sum({checksum}), count(DISTINCT {key}) FROM {marts.relation(name)} WHERE day = %s",
            (day,)).fetchone()


def next_day(day: date) -> date:
    return day + timedelta(days=1)
