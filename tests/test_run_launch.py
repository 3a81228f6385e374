"""A run launched like the daemon launches one: a separate process, the platform's forkserver executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg

from tests.conftest import LoadedWarehouse


def test_a_partitioned_job_runs_through_the_forkserver_executor(warehouse: LoadedWarehouse, tmp_path: Path) -> None:
    """`dagster job execute` runs the job with its own executor: steps fork from a server that
    preloaded orchestration.definitions, as every scheduled or sensor run does."""
    day = warehouse.window.end - timedelta(days=2)
    dagster = str(Path(sys.executable).with_name("dagster"))
    environment = {**os.environ, "DAGSTER_HOME": str(tmp_path)}  # a persistent (SQLite) instance of its own
    done = subprocess.run(
        [dagster, "job", "execute", "-m", "orchestration.definitions", "-j", "quality_scorecard_job",
         "--tags", json.dumps({"dagster/partition": day.isoformat()})],
        env=environment, capture_output=True, text=True, timeout=600, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "using multiprocess executor" in output and 'Executing step "quality__scorecard" in subprocess' in output
    assert "RUN_SUCCESS" in output
    dsn = warehouse.settings.warehouse_dsn
    assert dsn
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("select count(*) from quality.scorecard where day = %s", (day,)).fetchone()
    assert stored is not None and stored[0] > 0
