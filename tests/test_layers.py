"""The layers point one way, and every catalogue has one definition.

Libraries (foundation, datamove, quality, ml, agents) import neither the orchestration layer
nor Dagster; the contracts live in pyproject.toml ([tool.importlinter]) and `lint-imports`
checks them over every import, function-level ones included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from foundation.domain import INDUSTRIES
from foundation.settings import REPO_ROOT
from orchestration.lib.dbt_sources import SOURCES_YAML, render_sources_yaml

LIBRARIES = ("foundation", "datamove", "quality", "ml", "agents")


def test_import_contracts_hold() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    assert "BROKEN" not in done.stdout and done.stdout.count("KEPT") >= 3


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_library_loads_without_the_orchestration_layer(library: str) -> None:
    """Every module of the library, imported in a fresh interpreter, brings in neither layer above."""
    probe = (
        "import importlib, pkgutil, sys\n"
        f"package = importlib.import_module({library!r})\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'orchestration', 'dagster', 'dagster_dbt'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_dbt_sources_are_rendered_from_the_catalogue() -> None:
    assert SOURCES_YAML.read_text() == render_sources_yaml(), "run `platform dbt-sources`"


def test_dbt_checks_the_industries_the_platform_defines() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["industries"]) == INDUSTRIES


def test_dg_check_defs_passes(tmp_path: Path) -> None:
    """`dg check defs`, as a developer runs it: the project of [tool.dg] loads every definition."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = subprocess.run([str(Path(sys.executable).parent / "dg"), "check", "defs"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr


# Libraries only some runs need: a sensor tick, a run worker or a step of another kind of run must
# not pay for importing them (they are imported where they are used).
HEAVY_LIBRARIES = ("sklearn", "lightgbm", "xgboost", "scipy", "anthropic", "langgraph", "great_expectations",
                   "duckdb", "adbc_driver_postgresql", "faker", "bs4")


def test_the_code_location_loads_without_the_heavy_libraries() -> None:
    probe = ("import sys, warnings\nwarnings.simplefilter('ignore')\nimport orchestration.definitions\n"
             f"print(sorted(m for m in {HEAVY_LIBRARIES!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
