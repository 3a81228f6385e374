"""A scratch app database and warehouse of the real-time tier: a few simulated days, then live rows
"now"; the realtime job of the code location, run on them with resources pointing there."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import psycopg
import pytest

from foundation.settings import today as platform_today
from orchestration.lib.dbt_env import dbt_environment
from orchestration.lib.dbt_project import DBT_PROJECT_DIR, PlatformDbtResource, dbt_executable
from orchestration.lib.resources import PostgresResource
from orchestration.simulator.live import append_batch
from tests.dbt_helpers import run_dbt
from tests.defs_helpers import domain_defs
from tests.simulations import CLEAN_3_DAYS, Simulations

# the realtime marts and everything they are built from
DBT_SELECTION = "+agent_metrics_hourly +agent_metrics_daily +user_budget_status +agent_analytics"
REALTIME_TABLES = ("tasks", "chat_messages", "llm_usage")
MARTS = ("agent_metrics_hourly", "llm_cost_hourly", "agent_metrics_daily", "llm_cost_breakdown",
         "user_budget_status", "agent_analytics")
# columns that say when a row was computed, not what it holds
_VOLATILE = {"_extracted_at", "hour_complete", "_quarantined_at", "computed_at", "raised_at"}


@dataclass(frozen=True)
class RealtimeStack:
    app_dsn: str
    warehouse_dsn: str
    today: date
    work_dir: Path
    dbt_project_dir: Path  # a copy parsed for this warehouse: each refresh keeps dbt's partial parse

    def write_live_rows(self, batch: int, tasks: int = 6, messages: int = 4) -> None:
        with psycopg.connect(self.app_dsn) as conn:
            append_batch(conn, np.random.default_rng([7, 31, batch]), tasks=tasks, messages=messages)

    def definitions(self) -> dg.Definitions:
        resources = {
            "app_db": PostgresResource(dsn=self.app_dsn), "warehouse_db": PostgresResource(dsn=self.warehouse_dsn),
            "replica_db": PostgresResource(dsn=self.warehouse_dsn),
            "dbt": PlatformDbtResource(project_dir=str(self.dbt_project_dir), dbt_executable=dbt_executable(),
                                       warehouse_dsn=self.warehouse_dsn),
        }
        return dg.Definitions.merge(*(domain_defs(d, with_resources=False) for d in
                                      ("raw", "quality", "marts", "alerts", "realtime")),
                                    dg.Definitions(resources=resources))

    def refresh(self, instance: dg.DagsterInstance, day: date | None = None) -> dg.ExecuteInProcessResult:
        job = self.definitions().resolve_job_def("realtime_refresh_job")
        return job.execute_in_process(instance=instance, partition_key=(day or self.today).isoformat(),
                                      raise_on_error=False)

    def scalar(self, query: str, *params: object) -> object:
        with psycopg.connect(self.warehouse_dsn) as conn:
            row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def realtime_stack(simulations: Simulations, tmp_path_factory: pytest.TempPathFactory,
                   name: str = "rt") -> RealtimeStack:
    """Databases ``<name>_app`` and ``<name>_warehouse``: three clean days up to today, the raw layer
    loaded (copies of the session's templates), the real-time marts built, a parsed dbt project."""
    stack = simulations.copy(CLEAN_3_DAYS, f"{name}_app", f"{name}_warehouse")
    app_dsn, warehouse_dsn, today = stack.app_dsn, stack.warehouse_dsn, platform_today()
    assert warehouse_dsn
    work_dir = tmp_path_factory.mktemp(f"{name}-dbt")
    run_dbt(warehouse_dsn, work_dir, "seed", "llm_pricing")
    run_dbt(warehouse_dsn, work_dir, "run", DBT_SELECTION)
    project = work_dir / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    subprocess.run([dbt_executable(), "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
                   env={**os.environ, **dbt_environment(warehouse_dsn)}, check=True, capture_output=True, timeout=600)
    return RealtimeStack(app_dsn, warehouse_dsn, today, work_dir, project)


@pytest.fixture(scope="module")
def realtime(simulations: Simulations, tmp_path_factory: pytest.TempPathFactory) -> RealtimeStack:
    return realtime_stack(simulations, tmp_path_factory)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def day_fingerprint(warehouse_dsn: str, relation: str, day_column: str, day: date) -> str:
    """``rows:md5`` of a day of ``relation`` (its volatile columns left out)."""
    with psycopg.connect(warehouse_dsn) as conn:
        columns = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = %s "
            "ORDER BY ordinal_position", (relation,)).fetchall() if c not in _VOLATILE]
        listed = ", ".join(f'"{c}"' for c in columns)
        row = conn.execute(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM "  # noqa: S608
                           f"(SELECT {listed} FROM {relation} WHERE {day_column} = %s) AS t", (day,)).fetchone()
    assert row is not None
    return f"{row[0]}:{row[1]}"


def contents(stack: RealtimeStack) -> dict[str, str]:
    """Today in the real-time tables' raw layer and in the real-time marts."""
    found = {f"raw.{t}": day_fingerprint(stack.warehouse_dsn, f"raw.{t}", "_partition_date", stack.today)
             for t in REALTIME_TABLES}
    found.update({f"marts.{m}": day_fingerprint(stack.warehouse_dsn, f"marts.{m}", "day", stack.today) for m in MARTS})
    return found
