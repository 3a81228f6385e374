"""A run launched like the daemon launches one: a separate process, with the executor its job names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg

from tests.conftest import LoadedWarehouse


def test_a_light_job_runs_its_steps_in_the_run_process(warehouse: LoadedWarehouse, tmp_path: Path) -> None:
    """`dagster job execute` runs the job with its own executor: the scorecard, like every light job,
    runs in the run's own process (no process started per step)."""
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
    assert "Executing steps in process" in output and "in subprocess" not in output
    assert "RUN_SUCCESS" in output
    dsn = warehouse.settings.warehouse_dsn
    assert dsn
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("select count(*) from quality.scorecard where day = %s", (day,)).fetchone()
    assert stored is not None and stored[0] > 0


def test_each_job_has_the_executor_its_steps_need() -> None:
    from orchestration.definitions import defs

    jobs = {job.name: job for job in defs.resolve_all_job_defs()}
    from orchestration.lib.executors import in_process, parallel_forkserver

    # the five models train in parallel processes forked from a server that preloaded the code location
    assert jobs["ml_training_job"].executor_def is parallel_forkserver
    for name in ("daily_pipeline_job", "exports_daily_job", "archive_monthly_job", "provisioning_job",
                 "quality_scorecard_job", "raw_daily_job"):
        assert jobs[name].executor_def is in_process, name
