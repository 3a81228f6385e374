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


@pytest.fixture(scope="module")
def realtime(simulations: Simulations, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealtimeStack]:
    # three clean days up to today, the raw layer loaded: copies of the session's templates
    stack = simulations.copy(CLEAN_3_DAYS, "rt_app", "rt_warehouse")
    app_dsn, warehouse_dsn, today = stack.app_dsn, stack.warehouse_dsn, platform_today()
    assert warehouse_dsn
    work_dir = tmp_path_factory.mktemp("realtime-dbt")
    run_dbt(warehouse_dsn, work_dir, "seed", "llm_pricing")
    run_dbt(warehouse_dsn, work_dir, "run", DBT_SELECTION)
    project = work_dir / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    subprocess.run([dbt_executable(), "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
                   env={**os.environ, **dbt_environment(warehouse_dsn)}, check=True, capture_output=True, timeout=600)
    yield RealtimeStack(app_dsn, warehouse_dsn, today, work_dir, project)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance
