"""A deterministic, seeded simulator of the app database.

Same seed, scale, days and end date give identical data. It plants known ML
signal (``signal.py``) and a configurable rate of every defect kind in the
catalogue (``defects.py``). ``live.py`` keeps appending "today".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import psycopg

from foundation.settings import today
from orchestration.db.migrate import upgrade
from orchestration.simulator import agentgrid, engineering, marketplace, telemetry
from orchestration.simulator.context import SimContext
from orchestration.simulator.defects import DEFECTS, defect_rates
from orchestration.simulator.load import copy_frame, truncate
from orchestration.simulator.scales import get_scale

log = logging.getLogger(__name__)

# Insertion order respects the enforced foreign keys.
SIMULATED_TABLES = (
    "specialties", "agents", "customers", "trials", "tasks",
    "platform_users", "user_budgets", "agent_versions", "agent_experiments", "experiment_assignments",
    "chat_sessions", "chat_messages", "llm_usage",
    "agent_actions", "signature_metrics", "verifier_metrics", "training_metrics", "code_embeddings",
    "teams", "users", "issuetypes", "statuses", "issues", "repositories", "pull_requests",
)

__all__ = ["DEFECTS", "SIMULATED_TABLES", "SimulationReport", "simulate"]


@dataclass
class SimulationReport:
    seed: int
    scale: str
    days: int
    end_date: str
    rows: dict[str, int] = field(default_factory=dict)
    defects_planted: dict[str, int] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate(*, seed: int, scale: str, days: int, end_date: date,
             defects: dict[str, float] | float | None = None) -> tuple[dict, SimulationReport]:
    """All tables as DataFrames (nothing written), plus the report."""
    ctx = SimContext(seed=seed, scale=get_scale(scale), days=days, end_date=end_date, rates=defect_rates(defects))
    tables, ceilings = marketplace.generate(ctx)
    tables.update(agentgrid.generate(ctx, tables["agents"]))
    tables.update(telemetry.generate(ctx, tables["agents"]))
    engineering_tables, engineering_ceilings = engineering.generate(ctx)
    tables.update(engineering_tables)
    ceilings.update(engineering_ceilings)
    report = SimulationReport(seed=seed, scale=scale, days=days, end_date=end_date.isoformat(),
                              rows={name: len(tables[name]) for name in SIMULATED_TABLES},
                              defects_planted=dict(ctx.planted), ceilings=ceilings)
    return tables, report


def simulate(app_dsn: str, *, seed: int = 7, scale: str = "small", days: int = 90, end_date: date | None = None,
             defects: dict[str, float] | float | None = None) -> SimulationReport:
    """Replace the simulated tables of the app database with ``days`` of history ending before ``end_date``."""
    end_date = end_date or today()
    upgrade(app_dsn)
    tables, report = generate(seed=seed, scale=scale, days=days, end_date=end_date, defects=defects)
    with psycopg.connect(app_dsn) as conn:
        truncate(conn, list(SIMULATED_TABLES))
        for name in SIMULATED_TABLES:
            copy_frame(conn, name, tables[name])
        # llm_usage ids are an identity column: continue after the simulated ones.
        conn.execute("SELECT setval(pg_get_serial_sequence('llm_usage', 'id'), "
                     "coalesce((SELECT max(id) FROM llm_usage), 0) + 1, false)")
    for table in SIMULATED_TABLES:
        with psycopg.connect(app_dsn, autocommit=True) as conn:
            conn.execute(f"ANALYZE {table}")  # noqa: S608 - names from our own catalogue
    log.info("simulated %s rows over %s days at scale %s", report.total_rows, days, scale)
    return report
