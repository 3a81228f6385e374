"""The dbt project as Dagster sees it: a cached ``DbtProject`` and its manifest.

The manifest is never committed: ``python -m orchestration.cli.dbt`` (or
``dagster-dbt project prepare-and-package``) builds it, ``dagster dev`` rebuilds it on
every load, and a process that finds none builds it once rather than failing to load.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from foundation.settings import REPO_ROOT

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so it works without an activated virtualenv."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def _ensure_dbt_on_path() -> None:
    # dagster-dbt's preparer always runs plain `dbt`.
    if shutil.which("dbt") is None:
        os.environ["PATH"] = f"{Path(dbt_executable()).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@cache
def marts_dbt_project() -> DbtProject:
    _ensure_dbt_on_path()
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    project.prepare_if_dev()
    if not project.manifest_path.exists():
        log.warning("no dbt manifest at %s: running dbt parse now (see orchestration.cli.dbt)",
                    project.manifest_path)
        prepare_manifest(project)
    return project


def prepare_manifest(project: DbtProject | None = None) -> None:
    """Parse the dbt project into ``target/manifest.json`` (no warehouse connection needed)."""
    _ensure_dbt_on_path()
    project = project or DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    project.preparer.prepare(project)
