"""Benchmark: the cost of one daily partition of the marts must not grow with history.

Builds ~30 and ~365 days of simulated history (simulator -> app database -> the raw
layer's own extraction -> a full dbt build), then materializes one day of the daily
marts through Dagster as the daily pipeline does (the ``marts`` op's partitioned models with a
partition key: dbt build of the ``daily`` models and their tests for that window).
The staging views are built by the full build and are not part of a daily run.

Autovacuum: after each load and full build the warehouse is VACUUM ANALYZEd, so the
timed runs do not share the machine with a post-load autovacuum.

    .venv/bin/python bench/marts.py [--scale small] [--repeats 3]

The last line of output is one JSON object: day_seconds_30, day_seconds_365, ratio
(target <= 1.2; wall time of the Dagster run, mostly dbt start-up), dbt_node_seconds_* / dbt_node_ratio (the SQL dbt executed,
the part that could grow with history), and the sizes involved.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

log = logging.getLogger("bench.marts")

HISTORIES = (30, 365)


def _load_history(app_dsn: str, warehouse_dsn: str, *, scale: str, days: int, end: date) -> int:
    from datamove.extract import extract_table
    from foundation.catalog import SOURCE_TABLES, Window
    from orchestration.simulator import simulate

    simulate(app_dsn, seed=7, scale=scale, days=days, end_date=end)
    window = Window(end - timedelta(days=days), end)
    for table in SOURCE_TABLES:
        extract_table(table, app_dsn, warehouse_dsn, window if table.partitioned else None)
    with psycopg.connect(warehouse_dsn) as conn:
        row = conn.execute("select count(*) from raw.tasks").fetchone()
    return int(row[0]) if row else 0


def _full_build() -> None:
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, dbt_executable

    args = [dbt_executable(), "build", "--full-refresh", "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--threads", "2"]
    from orchestration.lib.dbt_env import dbt_environment

    env = {**os.environ, **dbt_environment(os.environ["PLATFORM_WAREHOUSE_DSN"])}
    done = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"full dbt build failed:\n{done.stdout[-3000:]}")


def _vacuum(warehouse_dsn: str) -> None:
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("vacuum analyze")


def _dbt_seconds(result: object) -> float:
    """Seconds dbt spent executing nodes (models and tests) of a run, from dagster-dbt's metadata."""
    events = [*result.get_asset_materialization_events(), *result.get_asset_check_evaluations()]  # type: ignore[attr-defined]
    total = 0.0
    for event in events:
        metadata = getattr(event, "metadata", None)
        if metadata is None:
            metadata = event.materialization.metadata
        value = metadata.get("Execution Duration")
        total += float(getattr(value, "value", value) or 0.0)
    return total


def _time_one_day(day: date, repeats: int) -> list[tuple[float, float]]:
    import dagster as dg

    from orchestration.defs.marts.assets import DAILY_MART_KEYS, marts
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, PlatformDbtResource, dbt_executable

    resources = {"dbt": PlatformDbtResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable(),
                                            warehouse_dsn=os.environ["PLATFORM_WAREHOUSE_DSN"])}
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = dg.materialize([marts], selection=list(DAILY_MART_KEYS), partition_key=day.isoformat(),
                                resources=resources)
        if not result.success:
            raise RuntimeError(f"daily partition {day} failed")
        seconds.append((time.perf_counter() - started, _dbt_seconds(result)))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", help="simulator scale (tiny | small | medium | full)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the day per history (median)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for name in ("dagster", "dagster_dbt", "alembic", "pgserver", "orchestration"):
        logging.getLogger(name).setLevel(logging.WARNING)

    home = Path(tempfile.mkdtemp(prefix="bmart-", dir="/tmp"))
    for name in ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN", "PLATFORM_REPLICA_DSN", "PLATFORM_DAGSTER_DSN",
                 "DAGSTER_HOME"):
        os.environ.pop(name, None)
    os.environ.update(PLATFORM_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="true")

    from orchestration.lib.dbt_project import prepare_manifest
    from orchestration.stack.postgres import ensure_environment, stop_postgres

    settings = ensure_environment()
    assert settings.app_dsn and settings.warehouse_dsn
    prepare_manifest()
    end = datetime.now(UTC).date()
    day = end - timedelta(days=2)
    report: dict[str, object] = {"scale": options.scale, "day": day.isoformat(), "repeats": options.repeats}
    try:
        for days in HISTORIES:
            started = time.perf_counter()
            tasks = _load_history(settings.app_dsn, settings.warehouse_dsn, scale=options.scale, days=days, end=end)
            _full_build()
            _vacuum(settings.warehouse_dsn)
            log.info("%d days of history (%d raw tasks) ready in %.0fs", days, tasks, time.perf_counter() - started)
            runs = _time_one_day(day, options.repeats)
            log.info("%d days: one-day runs %s", days, ", ".join(f"{w:.2f}s (dbt nodes {n:.2f}s)" for w, n in runs))
            report[f"day_seconds_{days}"] = round(statistics.median(w for w, _ in runs), 3)
            report[f"dbt_node_seconds_{days}"] = round(statistics.median(n for _, n in runs), 3)
            report[f"raw_tasks_{days}"] = tasks
    finally:
        stop_postgres(settings.pgdata)
        shutil.rmtree(home, ignore_errors=True)
    report["ratio"] = round(float(report["day_seconds_365"]) / float(report["day_seconds_30"]), 3)  # type: ignore[arg-type]
    # the part that could grow with history: dbt's own execution time of the models and tests
    report["dbt_node_ratio"] = round(
        float(report["dbt_node_seconds_365"]) / float(report["dbt_node_seconds_30"]), 3)  # type: ignore[arg-type]
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
