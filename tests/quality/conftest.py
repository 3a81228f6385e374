"""Scratch databases of the quality tests: their own app and warehouse, so planting defects
never disturbs the session ``warehouse`` other areas read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from orchestration.defs.raw.catalog import SOURCE_TABLES_BY_NAME
from orchestration.defs.raw.extract import Window, extract_table
from orchestration.embedded import OWNER_ROLE
from orchestration.settings import Settings
from orchestration.simulator import SimulationReport, simulate
from quality.quarantine import quarantine_after_load

DAYS = 4
# The tables the marketplace rules and the defect catalogue touch, dimensions first.
TABLES = ("specialties", "agents", "customers", "trials", "tasks", "platform_users", "chat_sessions",
          "chat_messages")


@dataclass(frozen=True)
class ScratchStack:
    app_dsn: str
    warehouse_dsn: str
    window: Window

    def simulate(self, defects: dict[str, float] | float) -> SimulationReport:
        return simulate(self.app_dsn, seed=11, scale="tiny", days=DAYS, end_date=self.window.end, defects=defects)

    def load(self, tables: tuple[str, ...] = TABLES, quarantine: bool = True) -> None:
        for name in tables:
            table = SOURCE_TABLES_BY_NAME[name]
            extract_table(table, self.app_dsn, self.warehouse_dsn, self.window if table.partitioned else None,
                          after_load=quarantine_after_load if quarantine else None)

    def scalar(self, query: str, *params: object, dsn: str | None = None) -> object:
        with psycopg.connect(dsn or self.warehouse_dsn) as conn:
            row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def _recreate(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(OWNER_ROLE)))


@pytest.fixture(scope="session")
def scratch(platform: Settings) -> Iterator[ScratchStack]:
    app_dsn = platform.app_dsn or ""
    admin = app_dsn.replace(f"{OWNER_ROLE}@/app", "postgres@/postgres")
    for name in ("app_quality", "wh_quality"):
        _recreate(admin, name)
        # the app's migrations need pgvector, which only a superuser may create
        with psycopg.connect(admin.replace("/postgres?", f"/{name}?"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    # the history ends two days ago: nothing the simulator writes is "in the future" by accident
    end = datetime.now(UTC).date() - timedelta(days=2)
    yield ScratchStack(app_dsn.replace("/app?", "/app_quality?"), app_dsn.replace("/app?", "/wh_quality?"),
                       Window(end - timedelta(days=DAYS), end))


def one_day(stack: ScratchStack) -> date:
    return stack.window.end - timedelta(days=2)
