"""Benchmark: the raw ingestion of a tasks table vs the `psql | psql` COPY pipe and pandas.

    .venv/bin/python bench/ingest.py [--rows 2000000]

In one run, on the same private PostgreSQL, it measures
  (a) the platform's raw extraction of N task rows (one window, as a single-run backfill),
  (b) `psql -c "COPY … TO STDOUT (FORMAT binary)" | psql -c "COPY … FROM STDIN"` (the limit),
  (c) pandas `read_sql` + `to_sql(method="multi")` as seed 000 writes it, on a 200k sample,
      extrapolated (psycopg2 driver, chunks of 5,000 rows: the only size under the
      65,535 bind-parameter limit that psycopg accepts).
Each of (a) and (b) runs twice, alternating, and the faster run counts. Autovacuum is
off on the benchmark tables and every target is truncated and vacuumed before a run,
so a background vacuum of the previous load cannot slow the next one.
Peak memory of (a) is measured in a child process at N and at N/4: it must not grow with N.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date, timedelta

import psycopg

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from bench._common import emit, private_postgres  # noqa: E402
from foundation.catalog import SOURCE_TABLES_BY_NAME  # noqa: E402
from foundation.connections import (
    client_environment,  # noqa: E402
    pg_bin_dir,  # noqa: E402
)

TASKS = SOURCE_TABLES_BY_NAME["tasks"]
END = date(2026, 1, 1)
DAYS = 90
PANDAS_SAMPLE = 200_000


def build_tasks(app_dsn: str, rows: int) -> None:
    """N realistic task rows over 90 days, generated inside PostgreSQL."""
    with psycopg.connect(app_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE tasks SET (autovacuum_enabled = false)")
        conn.execute("TRUNCATE tasks")
        conn.execute(
            f"""
            INSERT INTO tasks
            SELECT g, 'T-' || lpad(g::text, 9, '0'), 1 + g % 600, 1 + g % 20000,
                   (ARRAY['completed','completed','completed','failed','in_progress'])[1 + g % 5],
                   round((1 + random() * 4)::numeric, 1), round((random() * 500)::numeric, 2),
                   '{{"channel": "web", "items": ' || (g % 20) || '}}',
                   ts, ts + interval '2 hours', ts + interval '2 hours'
            FROM generate_series(1, {rows}) g,
                 LATERAL (SELECT timestamptz '{END - timedelta(days=DAYS)}' + ((g - 1)::float / {rows}) * interval '{DAYS} days'
                          AS ts) t  -- (g - 1) keeps the last row inside the window
            """
        )
        conn.execute("VACUUM ANALYZE tasks")


def _prepare_target(warehouse_dsn: str) -> None:
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
        if conn.execute("SELECT to_regclass('raw.tasks')").fetchone()[0]:  # type: ignore[index]
            conn.execute("ALTER TABLE raw.tasks SET (autovacuum_enabled = false)")
            conn.execute("TRUNCATE raw.tasks")
            conn.execute("VACUUM raw.tasks")
        conn.execute("DROP TABLE IF EXISTS limit_tasks")
        conn.execute("CREATE TABLE limit_tasks (LIKE raw.tasks INCLUDING ALL)" if conn.execute(
            "SELECT to_regclass('raw.tasks')").fetchone()[0] else "SELECT 1")  # type: ignore[index]


def run_platform_in_child(app_dsn: str, warehouse_dsn: str) -> dict[str, float]:
    """The platform's extraction in a fresh process, so its peak memory is its own."""
    command = [sys.executable, __file__, "--worker", app_dsn, warehouse_dsn]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(output)


def worker(app_dsn: str, warehouse_dsn: str) -> None:
    import resource

    from datamove.extract import extract_table
    from foundation.catalog import Window

    started = time.perf_counter()
    result = extract_table(TASKS, app_dsn, warehouse_dsn, Window(END - timedelta(days=DAYS), END))
    seconds = time.perf_counter() - started
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"seconds": seconds, "rows": result.loaded_rows, "peak_rss_mb": round(peak, 1)}))


def run_limit(app_dsn: str, warehouse_dsn: str) -> float:
    columns = ", ".join(TASKS.columns)
    source, source_env = client_environment(app_dsn)
    target, _ = client_environment(warehouse_dsn)
    psql = str(pg_bin_dir() / "psql")
    pipeline = (f"{psql} -X -q -d '{source}' -c 'COPY (SELECT {columns} FROM tasks) TO STDOUT (FORMAT binary)' | "
                f"{psql} -X -q -d '{target}' -c 'COPY limit_tasks ({columns}) FROM STDIN (FORMAT binary)'")
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE limit_tasks")
        conn.execute("VACUUM limit_tasks")
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], check=True, env=dict(source_env))
    return time.perf_counter() - started


def run_pandas(app_dsn: str, warehouse_dsn: str) -> float:
    """Seconds per row of read_sql + to_sql(method='multi') on a sample."""
    import pandas as pd
    from sqlalchemy import create_engine

    from foundation.connections import sqlalchemy_url

    source = create_engine(sqlalchemy_url(app_dsn, driver="psycopg2"))
    target = create_engine(sqlalchemy_url(warehouse_dsn, driver="psycopg2"))
    started = time.perf_counter()
    frame = pd.read_sql(f"SELECT {', '.join(TASKS.columns)} FROM tasks LIMIT {PANDAS_SAMPLE}", source)
    frame.to_sql("pandas_tasks", target, if_exists="replace", index=False, method="multi", chunksize=5000)
    seconds = time.perf_counter() - started
    source.dispose()
    target.dispose()
    return seconds / len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--worker", nargs=2, metavar=("APP_DSN", "WAREHOUSE_DSN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    with private_postgres("bench-ingest-") as (_, app, warehouse):
        build_tasks(app, args.rows // 4)
        _prepare_target(warehouse)
        small = run_platform_in_child(app, warehouse)  # also creates raw.tasks
        build_tasks(app, args.rows)
        _prepare_target(warehouse)
        platform_runs, limit_runs = [], []
        for _ in range(2):
            _prepare_target(warehouse)
            platform_runs.append(run_platform_in_child(app, warehouse))
            limit_runs.append(run_limit(app, warehouse))
        best = min(platform_runs, key=lambda r: r["seconds"])
        limit_seconds = min(limit_runs)
        pandas_seconds = run_pandas(app, warehouse) * args.rows

    assert best["rows"] == args.rows, "the benchmark ingestion did not reconcile"
    rows_per_s = args.rows / best["seconds"]
    print(f"platform: {best['seconds']:.2f}s ({rows_per_s:,.0f} rows/s, peak {best['peak_rss_mb']} MB; "
          f"{small['peak_rss_mb']} MB at N/4)")
    print(f"psql | psql limit: {limit_seconds:.2f}s; pandas (extrapolated): {pandas_seconds:.1f}s")
    emit({
        "rows": args.rows,
        "seconds": round(best["seconds"], 3),
        "rows_per_s": round(rows_per_s),
        "limit_seconds": round(limit_seconds, 3),
        "pandas_seconds_extrapolated": round(pandas_seconds, 1),
        "vs_limit": round(limit_seconds / best["seconds"], 3),
        "vs_pandas": round(pandas_seconds / best["seconds"], 1),
        "peak_rss_mb": best["peak_rss_mb"],
        "peak_rss_mb_at_quarter_rows": small["peak_rss_mb"],
    })


if __name__ == "__main__":
    main()
