"""Benchmark of one day's BigQuery export against a bare ``load_table_from_file`` of the same Parquet.

    .venv/bin/python bench/export.py [--rows 200000] [--repeat 3]

Starts its own embedded PostgreSQL and BigQuery emulator under a temporary PLATFORM_HOME
(both stopped by pid at the end), fills a ``customer_behavior``-shaped mart with ``--rows``
rows per day, then times, alternately and best-of ``--repeat``, each on a day its table
does not hold yet (the daily scheduled case):

- ``ours``: ``export_day``: the mart read in one snapshot (ADBC) and the typed Parquet,
  while the dataset/table are ensured and the day looked up in BigQuery; the load; the
  read-back of count and checksum compared with the mart;
- ``bare``: ``client.load_table_from_file`` of the same Parquet (explicit schema, WRITE_APPEND),
  nothing else.

Both write to their own table holding the same earlier days (the emulator's load time
grows with the table's size, so a bare WRITE_TRUNCATE into a one-day table would be
cheaper than any real daily load). ``vs_bare_client`` = bare / ours. ``bigquery_side_*``
is the export's BigQuery part alone (file checks, load job, read-back: what it adds to
the bare load once the Parquet exists; ``ExportResult.bigquery_seconds``).
``reexport_seconds`` times replacing a day BigQuery already holds (a re-run or
backfill: staging table + DELETE/INSERT transaction).
The mart table is VACUUM ANALYZEd after the load. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from foundation.settings import load_settings  # noqa: E402
from orchestration.stack.postgres import OWNER_ROLE, start_postgres, stop_postgres  # noqa: E402

log = logging.getLogger("bench.export")
DAY = date(2026, 3, 2)
DATASET = "bench_exports"

MART_DDL = """
CREATE SCHEMA marts;
CREATE TABLE marts.customer_behavior (
    day date, customer_id integer, industry text, customer_status text, tasks_created bigint,
    tasks_completed bigint, revenue numeric(14, 2), tasks_last_7d bigint, avg_rating_last_7d numeric,
    days_inactive integer, tenure_days integer);
"""
MART_FILL = """
INSERT INTO marts.customer_behavior
SELECT d, c, (ARRAY['marketing', 'education', 'sales'])[1 + c %% 3], 'active', c %% 5, c %% 3,
       round((random() * 1000)::numeric, 2), c %% 11, (random() * 5)::numeric, c %% 90, c %% 700
FROM unnest(%(days)s::date[]) d, generate_series(1, %(rows)s) c;
"""


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("pgserver", "google", "urllib3", "datamove.bigquery", "orchestration.defs.exports"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import psycopg
    from google.cloud import bigquery

    from datamove.bigquery import (
        ensure_dataset,
        ensure_day_partitioned_table,
        make_client,
    )
    from datamove.export import export_day, read_mart_day
    from datamove.export_specs import EXPORTS
    from orchestration.stack.bigquery import ensure_emulator, stop_emulator

    days = [DAY + timedelta(days=i) for i in range(args.repeat + 1)]
    home = Path(tempfile.mkdtemp(prefix="bench-exp-", dir="/tmp"))
    os.chmod(home, 0o755)
    os.environ.pop("BIGQUERY_API_ENDPOINT", None)
    settings = dataclasses.replace(load_settings(), home=home, bigquery_endpoint=None)
    server = start_postgres(home / "pgdata")
    try:
        endpoint = ensure_emulator(settings)
        dsn = server.dsn("warehouse", OWNER_ROLE)
        with psycopg.connect(dsn) as conn:
            conn.execute(MART_DDL)  # type: ignore[arg-type]
            conn.execute(MART_FILL, {"days": days, "rows": args.rows})  # type: ignore[arg-type]
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE marts.customer_behavior")
        client = make_client(settings.bigquery_project, settings.bigquery_location, endpoint)
        spec = EXPORTS["customer_behavior"]
        schema = spec.bigquery_schema()
        parquets = {day: home / f"{day}.parquet" for day in days}
        started = time.perf_counter()
        for day in days:
            read_mart_day(spec, dsn, '"marts"."customer_behavior"', day, parquets[day])
        read_seconds = (time.perf_counter() - started) / len(days)
        ensure_dataset(client, DATASET)
        bare_table = f"{client.project}.{DATASET}.bare_customer_behavior"
        ensure_day_partitioned_table(client, bare_table, schema, "day")
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET, schema=schema,
                                        write_disposition=bigquery.WriteDisposition.WRITE_APPEND)

        def bare(day: date) -> int:
            with parquets[day].open("rb") as handle:
                job = client.load_table_from_file(handle, bare_table, job_config=config)
            job.result()
            return args.rows if job.error_result is None else -1

        best = {"bare": float("inf"), "ours": float("inf"), "ours_bigquery": float("inf")}
        for day in days:
            started = time.perf_counter()
            rows = bare(day)
            bare_seconds = time.perf_counter() - started
            started = time.perf_counter()
            exported = export_day(spec, read_dsn=dsn, client=client, dataset=DATASET, day=day)
            ours_seconds = time.perf_counter() - started
            assert rows == exported.rows == args.rows and exported.load_mode == "append", (rows, exported)
            if day != days[0]:  # the first day creates the dataset and tables
                best["bare"] = min(best["bare"], bare_seconds)
                best["ours"] = min(best["ours"], ours_seconds)
                best["ours_bigquery"] = min(best["ours_bigquery"], exported.bigquery_seconds)
        started = time.perf_counter()
        assert export_day(spec, read_dsn=dsn, client=client, dataset=DATASET, day=days[1]).load_mode == "replace"
        reexport = time.perf_counter() - started
        log.info("bare %.2fs, ours %.2fs (mart read + Parquet %.2fs, BigQuery side %.2fs), re-export %.2fs",
                 best["bare"], best["ours"], read_seconds, best["ours_bigquery"], reexport)
    finally:
        stop_emulator(settings)
        stop_postgres(server.pgdata)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps({
        "rows": args.rows,
        "seconds": round(best["ours"], 3),
        "bare_seconds": round(best["bare"], 3),
        "vs_bare_client": round(best["bare"] / best["ours"], 2),
        "bigquery_side_seconds": round(best["ours_bigquery"], 3),
        "bigquery_side_vs_bare_client": round(best["bare"] / best["ours_bigquery"], 2),
        "mart_read_and_parquet_seconds": round(read_seconds, 3),
        "reexport_seconds": round(reexport, 3),
        "repeat": args.repeat,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
