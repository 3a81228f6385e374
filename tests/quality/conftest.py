"""Scratch databases of the quality tests: their own app and warehouse, so planting defects
never disturbs the session ``warehouse`` other areas read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pytest

from datamove.extract import LoadPolicy, extract_table
from foundation.catalog import SOURCE_TABLES_BY_NAME, Window
from orchestration.simulator import SimulationReport
from quality.quarantine import quarantine_after_load
from tests.simulations import QUALITY_DAYS, Simulations, quality_profile

DAYS = QUALITY_DAYS
# The tables the marketplace rules and the defect catalogue touch, dimensions first.
TABLES = ("specialties", "agents", "customers", "trials", "tasks", "platform_users", "chat_sessions",
          "chat_messages")


@dataclass(frozen=True)
class ScratchStack:
    app_dsn: str
    warehouse_dsn: str
    window: Window
    simulations: Simulations

    def simulate(self, defects: dict[str, float] | float) -> SimulationReport:
        """The app database becomes a copy of the quality profile with these defect rates (simulated once)."""
        return self.simulations.copy(quality_profile(defects), "app_quality").report

    def load(self, tables: tuple[str, ...] = TABLES, quarantine: bool = True) -> None:
        for name in tables:
            table = SOURCE_TABLES_BY_NAME[name]
            extract_table(table, self.app_dsn, self.warehouse_dsn, self.window if table.partitioned else None,
                          policy=LoadPolicy(after=(quarantine_after_load,) if quarantine else ()))

    def scalar(self, query: str, *params: object, dsn: str | None = None) -> object:
        with psycopg.connect(dsn or self.warehouse_dsn) as conn:
            row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


@pytest.fixture(scope="session")
def scratch(simulations: Simulations) -> Iterator[ScratchStack]:
    app_dsn, warehouse_dsn = simulations.empty("app_quality"), simulations.empty("wh_quality")
    # the history ends two days ago: nothing the simulator writes is "in the future" by accident
    yield ScratchStack(app_dsn, warehouse_dsn, quality_profile(0.0).window, simulations)


def one_day(stack: ScratchStack) -> date:
    return stack.window.end - timedelta(days=2)
