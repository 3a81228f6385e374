"""Benchmark of the archive (raw month → verified Parquet → rows deleted) against the fastest known path.

    .venv/bin/python bench/archive.py [--rows 2000000]

Starts its own embedded PostgreSQL in a temporary folder (stopped by pid at the end),
fills ``raw.tasks`` with ``--rows`` rows in one warm month and ``--rows / 4`` in the month
before (the second size shows whether memory grows with N), then measures, each in a
fresh child process (peak RSS is per process):

- ``limit``: the fastest known move, ADBC record batches → ``ParquetWriter`` zstd, nothing
  else (no typing of NUMERIC, no read-back, no delete);
- ``ours``: ``archive_month`` — typed Parquet, read-back verification, publish, the
  transactional delete and the manifest;
- ``pandas``: seed 000's way, ``pandas.read_sql`` + ``to_parquet``, on a ``--pandas-rows``
  sample, extrapolated linearly.

Autovacuum: the table is ``VACUUM (FREEZE, ANALYZE)``d after the load and autovacuum is
disabled on it, so no vacuum starts during the measurements (the archive's delete would
otherwise trigger one). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration.stack.postgres import OWNER_ROLE, start_postgres, stop_postgres  # noqa: E402

log = logging.getLogger("bench.archive")

TASKS_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE raw.tasks (
    id bigint, task_ref text, agent_id integer, customer_id integer, status text, rating numeric(3, 2),
    revenue numeric(12, 2), payload text, created_at timestamptz, completed_at timestamptz,
    updated_at timestamptz, _partition_date date, _extracted_at timestamptz NOT NULL DEFAULT now()
) WITH (autovacuum_enabled = off);
CREATE INDEX ON raw.tasks (_partition_date);
"""

FILL = """
INSERT INTO raw.tasks
SELECT g, 'T-' || g, g %% 500, g %% 5000, (ARRAY['completed', 'failed', 'pending'])[1 + g %% 3],
       round((random() * 5)::numeric, 2), round((random() * 1000)::numeric, 2),
       '{"k": ' || g || ', "note": "client payload of a task"}', ts, ts + interval '1 hour',
       ts + interval '2 hours', (ts AT TIME ZONE 'UTC')::date, now()
FROM (SELECT g, %(start)s::timestamptz + (g - %(first)s) * %(step)s::interval AS ts
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) g) s
"""


def _month_query(month: date) -> str:
    following = (month + timedelta(days=32)).replace(day=1)
    return (f"SELECT * FROM raw.tasks WHERE _partition_date >= DATE '{month}' "  # noqa: S608 - dates
            f"AND _partition_date < DATE '{following}'")


def fill(dsn: str, month: date, first_id: int, rows: int) -> None:
    import psycopg

    seconds_in_month = 27 * 86400  # stay inside the month whatever its length
    with psycopg.connect(dsn) as conn:
        conn.execute(FILL, {"start": f"{month} 00:00:00+00", "first": first_id, "last": first_id + rows - 1,
                            "step": f"{seconds_in_month / rows} seconds"})


# -- the three ways, each run in a child process ---------------------------------------


def run_limit(dsn: str, month: date, out: str) -> int:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.parquet as pq

    rows = 0
    with adbc.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(_month_query(month))
        reader = cursor.fetch_record_batch()
        with pq.ParquetWriter(out, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def run_ours(dsn: str, month: date, archive_url: str) -> int:
    from datamove.archive.archiver import archive_month

    outcome = archive_month("tasks", month, warehouse_dsn=dsn, archive_url=archive_url)
    assert outcome.action == "archived", outcome
    return outcome.totals.rows


def run_pandas(dsn: str, month: date, out: str, sample: int) -> int:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    frame = pd.read_sql(_month_query(month) + f" LIMIT {sample}", engine)
    frame.to_parquet(out)
    engine.dispose()
    return len(frame)


def _child(name: str, args: tuple[Any, ...], queue: Any) -> None:
    # Imports are not part of the move: every way starts with the same modules loaded.
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sqlalchemy  # noqa: F401

    import datamove.archive.archiver  # noqa: F401

    started = time.perf_counter()
    rows = globals()[name](*args)
    seconds = time.perf_counter() - started
    queue.put((rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(name: str, *args: Any) -> tuple[int, float, float]:
    """(rows, seconds, peak RSS MB) of ``name(*args)`` in a fresh interpreter."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(name, args, queue))
    process.start()
    result = queue.get()
    process.join()
    log.info("%-6s %9d rows in %6.2fs (%8.0f rows/s), peak RSS %.0f MB", name.removeprefix("run_"), result[0],
             result[1], result[0] / result[1], result[2])
    return result  # type: ignore[no-any-return]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pandas-rows", type=int, default=200_000, help="pandas sample (extrapolated)")
    args = parser.parse_args()
    small_rows = max(args.rows // 4, 1)

    from datamove.archive.policy import newest_month_in_tier

    big_month = (newest_month_in_tier("warm") - timedelta(days=1)).replace(day=1)
    small_month = (big_month - timedelta(days=1)).replace(day=1)
    home = Path(tempfile.mkdtemp(prefix="bench-arch-", dir="/tmp"))
    os.chmod(home, 0o755)
    server = start_postgres(home / "pgdata")
    try:
        dsn = server.dsn("warehouse", OWNER_ROLE)
        import psycopg

        with psycopg.connect(dsn) as conn:
            conn.execute(TASKS_DDL)  # type: ignore[arg-type]
        started = time.perf_counter()
        fill(dsn, big_month, 1, args.rows)
        fill(dsn, small_month, args.rows + 1, small_rows)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM (FREEZE, ANALYZE) raw.tasks")
            conn.execute(_month_query(big_month).replace("SELECT *", "SELECT count(*)"))  # warm the cache
        log.info("generated %d + %d rows in %.1fs", args.rows, small_rows, time.perf_counter() - started)

        out = str(home / "out")
        os.makedirs(out)
        _, limit_small_s, limit_small_rss = measure("run_limit", dsn, small_month, f"{out}/limit-small.parquet")
        limit_rows, limit_s, limit_rss = measure("run_limit", dsn, big_month, f"{out}/limit.parquet")
        pandas_rows, pandas_s, _ = measure("run_pandas", dsn, big_month, f"{out}/pandas.parquet",
                                           min(args.pandas_rows, args.rows))
        small_rows_done, small_s, small_rss = measure("run_ours", dsn, small_month, str(home / "archive"))
        rows, seconds, rss = measure("run_ours", dsn, big_month, str(home / "archive"))
        assert rows == limit_rows == args.rows and small_rows_done == small_rows
        with psycopg.connect(dsn) as conn:
            left = conn.execute("SELECT count(*) FROM raw.tasks").fetchone()[0]  # type: ignore[index]
        assert left == 0, f"{left} rows left in raw.tasks"
    finally:
        stop_postgres(server.pgdata)
        shutil.rmtree(home, ignore_errors=True)

    ours_rate, limit_rate, pandas_rate = rows / seconds, limit_rows / limit_s, pandas_rows / pandas_s
    print(json.dumps({
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(ours_rate),
        "limit_rows_per_s": round(limit_rate),
        "pandas_rows_per_s": round(pandas_rate),
        "vs_limit": round(ours_rate / limit_rate, 2),
        "vs_pandas": round(ours_rate / pandas_rate, 1),
        "peak_rss_mb": round(rss, 1),
        "peak_rss_mb_at_quarter_rows": round(small_rss, 1),
        "limit_peak_rss_mb": round(limit_rss, 1),
        "limit_peak_rss_mb_at_quarter_rows": round(limit_small_rss, 1),
        "small_rows": small_rows,
        "small_rows_per_s": round(small_rows / small_s),
        "limit_small_rows_per_s": round(small_rows / limit_small_s),
        "pandas_sample_rows": pandas_rows,
        "autovacuum": "off on raw.tasks after VACUUM (FREEZE, ANALYZE)",
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
