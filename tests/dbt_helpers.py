"""dbt from the plain CLI against a scratch warehouse, in a folder of the test's own (the shared
dbt_project/target is left alone)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from orchestration.lib.dbt_env import dbt_environment
from orchestration.lib.dbt_project import DBT_PROJECT_DIR, dbt_executable


def run_dbt(warehouse_dsn: str, work_dir: Path, command: str, select: str) -> str:
    """`dbt <command> --select <select>` against ``warehouse_dsn``; raises with dbt's output on failure."""
    env = {**os.environ, **dbt_environment(warehouse_dsn)}
    done = subprocess.run(
        [dbt_executable(), command, "--select", select, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(work_dir / "target"),
         "--log-path", str(work_dir / "logs"), "--threads", "2"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt {command} --select {select} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def mart_model_keys() -> set[tuple[str, str]]:
    """Asset key paths of every mart, export-shaped mart and ML feature set, read from the project's
    folders (``models/marts``, ``models/exports`` build into schema ``marts``; ``models/ml_features``
    into ``ml_features``): a model added there is expected in the graph without editing a count."""
    models = DBT_PROJECT_DIR / "models"
    keys = {("marts", p.stem) for folder in ("marts", "exports") for p in (models / folder).rglob("*.sql")}
    return keys | {("ml_features", p.stem) for p in (models / "ml_features").rglob("*.sql")}
