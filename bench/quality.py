"""Benchmark: every check of the tasks table vs one hand-written single-pass SQL, same run, same data.

    .venv/bin/python bench/quality.py [--rows 2000000] [--clean]

Starts its own embedded PostgreSQL in a temporary folder (stopped by pid at the end),
builds ``raw.tasks`` with N rows in one daily partition (plus agents and customers for
the foreign keys) with the simulator's default defect rate (0.1% per kind), runs
VACUUM ANALYZE so autovacuum does not kick in during the measurement, then times:

- ``checks``: ``evaluate_suite`` over the partition with every rule of raw.tasks, exactly
  what the Dagster checks run (GX phase 1 for all rules, phase 2 with samples for the
  failing ones, the quarantine counts); freshness is skipped (no app database here);
- ``single_scan``: one SELECT computing the same counts in one pass.

Each side runs once to warm up (imports, caches), then ``--repeat`` times; the median is
reported. The last line is a JSON object; ``vs_single_scan`` = checks / single scan.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# This file is named like the `quality` package: its own folder must not shadow the package.
_BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [str(_BENCH_DIR.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _BENCH_DIR]

import psycopg  # noqa: E402

from orchestration.stack.postgres import OWNER_ROLE, start_postgres, stop_postgres  # noqa: E402
from quality.rules import RAW_SUITES  # noqa: E402

log = logging.getLogger("bench.quality")

RATE = 0.001


def build(dsn: str, rows: int, day: date) -> None:
    from quality.warehouse import ensure_quality_objects, ensure_quarantine_table

    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE SCHEMA raw")
        conn.execute("""CREATE TABLE raw.agents AS SELECT g AS id, 'agent ' || g AS name, NULL::date AS _partition_date FROM generate_series(1, 1000) g""")
        conn.execute("""CREATE TABLE raw.customers AS SELECT g AS id, 'c' || g AS name, NULL::date AS _partition_date FROM generate_series(1, 50000) g""")
        conn.execute(f"""
            CREATE TABLE raw.tasks AS
            SELECT g::bigint AS id,
                   'T-' || lpad((CASE WHEN random() < {RATE} THEN g - 1 ELSE g END)::text, 9, '0') AS task_ref,
                   (CASE WHEN random() < {RATE} THEN 5000 + g % 100 ELSE 1 + g % 1000 END)::int AS agent_id,
                   (CASE WHEN random() < {RATE} THEN NULL ELSE 1 + g % 50000 END)::int AS customer_id,
                   (ARRAY['completed', 'failed', 'in_progress', 'cancelled'])[1 + g % 4] AS status,
                   (CASE WHEN random() < {RATE} THEN 7.5 ELSE round((1 + random() * 4)::numeric, 1) END)::numeric(3,2) AS rating,
                   (CASE WHEN random() < {RATE} THEN -10 ELSE round((random() * 500)::numeric, 2) END)::numeric(12,2) AS revenue,
                   CASE WHEN random() < {RATE} THEN '{{"channel": "we'
                        ELSE '{{"channel": "web", "items": ' || (g % 20) || ', "priority": "normal"}}' END AS payload,
                   ts AS created_at,
                   CASE WHEN random() < {RATE} THEN now() + interval '90 days' ELSE ts + interval '2 hours' END AS completed_at,
                   CASE WHEN random() < {RATE} THEN ts + interval '4 days' ELSE ts + interval '2 hours' END AS updated_at,
                   DATE '{day.isoformat()}' AS _partition_date,
                   now() AS _extracted_at
            FROM generate_series(1, {rows}) g,
                 LATERAL (SELECT TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'
                                 + (g::float8 / {rows}) * interval '86399 seconds' AS ts) t
        """)  # noqa: S608
        conn.execute("CREATE INDEX ON raw.tasks (_partition_date)")
        ensure_quality_objects(conn)
        for table in ("agents", "customers", "tasks"):
            ensure_quarantine_table(conn, table)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("raw.agents", "raw.customers", "raw.tasks"):
            conn.execute(f"VACUUM ANALYZE {table}")


SINGLE_SCAN = """
SELECT count(*),
       count(*) FILTER (WHERE task_ref IS NULL), count(*) FILTER (WHERE agent_id IS NULL),
       count(*) FILTER (WHERE customer_id IS NULL), count(*) FILTER (WHERE status IS NULL),
       count(*) FILTER (WHERE rating < 0 OR rating > 5), count(*) FILTER (WHERE revenue < 0),
       count(*) FILTER (WHERE status NOT IN ('completed', 'failed', 'in_progress', 'cancelled')),
       count(*) FILTER (WHERE agent_id NOT IN (SELECT id FROM raw.agents UNION ALL SELECT id FROM quarantine.agents)),
       count(*) FILTER (WHERE customer_id NOT IN (SELECT id FROM raw.customers UNION ALL SELECT id FROM quarantine.customers)),
       count(*) FILTER (WHERE created_at > now()), count(*) FILTER (WHERE completed_at > now()),
       count(*) FILTER (WHERE updated_at > now()),
       count(*) FILTER (WHERE NOT pg_input_is_valid(payload, 'jsonb')),
       count(*) FILTER (WHERE updated_at >= (_partition_date + 2)::timestamp AT TIME ZONE 'UTC'),
       count(DISTINCT id), count(DISTINCT task_ref)
FROM raw.tasks WHERE _partition_date >= %s AND _partition_date < %s
"""


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    result = fn()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("great_expectations", "pgserver", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    from orchestration.defs.quality.checks import evaluate_suite

    home = Path(tempfile.mkdtemp(prefix="bq-", dir="/tmp"))
    pgdata = home / "pgdata"
    try:
        server = start_postgres(pgdata)
        dsn = server.dsn("warehouse", OWNER_ROLE)
        day = datetime.now(UTC).date() - timedelta(days=3)
        started = time.perf_counter()
        build(dsn, args.rows, day)
        log.info("built raw.tasks with %d rows in %.1fs", args.rows, time.perf_counter() - started)
        suite = RAW_SUITES["tasks"]
        names = {rule.name for rule in suite.rules}

        def run_checks() -> list:
            return list(evaluate_suite(suite, dsn, None, day, day + timedelta(days=1), names, None))

        def run_single_scan() -> tuple:
            with psycopg.connect(dsn) as conn:
                return conn.execute(SINGLE_SCAN, (day, day + timedelta(days=1))).fetchone()  # type: ignore[return-value]

        scan_seconds, scan = timed(run_single_scan, args.repeat)
        check_seconds, results = timed(run_checks, args.repeat)
        failed = sorted(r.check_name for r in results if not r.passed)  # type: ignore[attr-defined]
        log.info("single scan %.3fs: %s", scan_seconds, scan)
        log.info("checks %.3fs; failing: %s", check_seconds, failed)
    finally:
        stop_postgres(pgdata)
        shutil.rmtree(home, ignore_errors=True)
    line = {
        "rows": args.rows,
        "checks": len(results),  # type: ignore[arg-type]
        "failing_checks": len(failed),
        "seconds": round(check_seconds, 3),
        "single_scan_seconds": round(scan_seconds, 3),
        "vs_single_scan": round(check_seconds / scan_seconds, 2),
        "target_vs_single_scan": 2.0,
        "defect_rate_per_kind": RATE,
        "repeat": args.repeat,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
