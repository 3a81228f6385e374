"""ML asset fixtures: the engineering and marketplace tables at scale "small" in scratch databases,
features by dbt.

The simulator's engineering and marketplace tables go into a scratch app database, the raw layer's
extraction copies them into a scratch warehouse, and the marts' own dbt project builds
``+ml_features`` there (plain dbt CLI, own target folder). The models are then trained
once per session through Dagster and shared by the tests, which must therefore only
add state (new projects, log rows) or undo what they change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from datamove.extract import extract_table
from foundation.catalog import SOURCE_TABLES_BY_NAME
from foundation.settings import Settings
from foundation.settings import today as platform_today
from ml.models.specs import ALL_MODELS
from orchestration.db.migrate import upgrade
from orchestration.defs.ml.assets import ml_assets
from orchestration.defs.ml.checks import ml_checks
from orchestration.lib.resources import PostgresResource
from orchestration.simulator import engineering, marketplace
from orchestration.simulator.context import SimContext
from orchestration.simulator.defects import defect_rates
from orchestration.simulator.load import copy_frame
from orchestration.simulator.scales import get_scale
from tests.dbt_helpers import run_dbt

log = logging.getLogger(__name__)

SEED, SCALE, DAYS = 7, "small", 90


@dataclass(frozen=True)
class MLWarehouse:
    app_dsn: str
    dsn: str
    ceilings: dict[str, float]
    report_path: Path
    dbt_dir: Path  # target and logs of this warehouse's dbt runs

    def resources(self) -> dict[str, PostgresResource]:
        # The scratch database has no read-only role of its own: reads use the owner too.
        return {"warehouse_db": PostgresResource(dsn=self.dsn), "replica_db": PostgresResource(dsn=self.dsn)}

    def run_config(self) -> dict[str, object]:
        ops = [dg.AssetKey(spec.asset_path).to_python_identifier() for spec in ALL_MODELS]
        return {"ops": {op: {"config": {"simulator_report": str(self.report_path)}} for op in ops}}

    def query(self, statement: str, params: tuple[object, ...] | None = None) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cursor = conn.execute(statement, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []


def build_ml_features(warehouse_dsn: str, work_dir: Path) -> None:
    """`dbt run --select +ml_features +customer_churn_features` against ``warehouse_dsn``."""
    run_dbt(warehouse_dsn, work_dir, "run", "+ml_features +customer_churn_features")


@pytest.fixture(scope="session")
def ml_warehouse(platform: Settings, scratch_database: Callable[[str], str],
                 tmp_path_factory: pytest.TempPathFactory) -> MLWarehouse:
    app_dsn, warehouse_dsn = scratch_database("ml_assets_app"), scratch_database("ml_assets_warehouse")
    upgrade(app_dsn)
    # The engineering and marketplace generators alone: their random streams are named, so their
    # rows (and ceilings) are exactly those of a full `simulate(seed=7, scale="small", days=90)`.
    context = SimContext(seed=SEED, scale=get_scale(SCALE), days=DAYS, end_date=platform_today(),
                         rates=defect_rates(None))
    tables, ceilings = engineering.generate(context)
    market, churn_ceilings = marketplace.generate(context)
    tables.update(market)
    ceilings.update(churn_ceilings)
    with psycopg.connect(app_dsn) as conn:
        for name in ("teams", "users", "issuetypes", "statuses", "issues", "repositories", "pull_requests",
                     "specialties", "agents", "customers", "trials", "tasks"):
            copy_frame(conn, name, tables[name])
    for name in tables:
        extract_table(SOURCE_TABLES_BY_NAME[name], app_dsn, warehouse_dsn)
    work_dir = tmp_path_factory.mktemp("ml_assets_dbt")
    build_ml_features(warehouse_dsn, work_dir)
    report = work_dir / "simulator_report.json"
    report.write_text(json.dumps({"seed": SEED, "scale": SCALE, "days": DAYS, "ceilings": ceilings}))
    return MLWarehouse(app_dsn, warehouse_dsn, ceilings, report, work_dir)


@pytest.fixture(scope="session")
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="session")
def trained(ml_warehouse: MLWarehouse, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Every ML asset and check, materialized once: models, score tables, prediction log, detector."""
    return dg.materialize([*ml_assets, *ml_checks], resources=ml_warehouse.resources(),
                          run_config=ml_warehouse.run_config(), instance=instance, raise_on_error=False)


def materialization_metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict[str, object]:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    assert events, f"{key.to_user_string()} was not materialized"
    return {name: value.value for name, value in events[-1].materialization.metadata.items()}
