"""Marts fixtures: the tiny simulated warehouse (``warehouse``) built once by the plain dbt CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pandas as pd
import psycopg
import pytest

from foundation.settings import REPO_ROOT
from orchestration.lib.dbt_project import (
    DBT_PROJECT_DIR,
    PlatformDbtResource,
    dbt_executable,
    prepare_manifest,
)
from tests.conftest import LoadedWarehouse


@dataclass(frozen=True)
class DbtBuild:
    returncode: int
    output: str


def dbt_cli_build() -> DbtBuild:
    """`dbt build` exactly as a person runs it: the `platform dbt-env` exports, then plain dbt."""
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    script = (
        f'eval "$({sys.executable} -m orchestration.cli dbt-env)" && '
        f"{dbt} build --project-dir {DBT_PROJECT_DIR} --profiles-dir {DBT_PROJECT_DIR} --threads 2"
    )
    done = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          check=False)
    return DbtBuild(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def dbt_manifest() -> None:
    prepare_manifest()


@pytest.fixture(scope="session")
def built_marts(warehouse: LoadedWarehouse, dbt_manifest: None) -> DbtBuild:
    """Every model, seed and test built once over the whole simulated history (no partition window)."""
    return dbt_cli_build()


@pytest.fixture(scope="session")
def warehouse_dsn(warehouse: LoadedWarehouse) -> str:
    dsn = warehouse.settings.warehouse_dsn
    assert dsn
    return dsn


def read_sql(dsn: str, query: str) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)  # noqa: S608 - test queries over our own schemas
        columns = [c.name for c in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def dbt_resource(warehouse_dsn: str) -> PlatformDbtResource:
    """The code location's dbt resource, against ``warehouse_dsn``."""
    return PlatformDbtResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable(),
                               warehouse_dsn=warehouse_dsn)
