"""Benchmark: the daily ingestion on the primary while ML and the agents' queries read elsewhere.

    .venv/bin/python bench/replica.py [--days 30] [--scale small] [--rounds 3] [--feature-rows 200000]

Seed 003's promise is "zero-impact ML operations": ML training and the agents' queries on a
streaming replica leave the primary's ingestion alone. In one run, on a private primary and its
embedded streaming replica (``pg_basebackup -R``, the same binaries), it times the raw ingestion
of ``--days`` of simulated history (every source table, the platform's ``extract_table``: COPY
streams through ``psql``, windows replaced in one transaction) three ways, alternating, for
``--rounds`` rounds, the median counting:

  (a) alone;
  (b) while a background loop trains a LightGBM model through the PostgresML-compatible engine
      (``--feature-rows`` x 10 features, one thread) and runs golden queries (aggregates over the
      raw tables, through the SQL guard, in guarded read-only transactions), reading on the primary
      as the reader role;
  (c) the same loop reading on the replica, in seed 003's ML session, after each replay wait.

``ingest_slowdown_with_ml_on_primary`` = (b) / (a), ``ingest_slowdown_with_ml_on_replica`` =
(c) / (a) (goal <= 1.1). ``replica_lag_p95_seconds``: during (c), every 0.25 s the primary's WAL
position is taken and the time until the replica has replayed it measured; the 95th percentile.

One machine runs both servers, the ingestion and the ML loop: the replica takes the ML reads off
the primary's buffers, locks and WAL, not off this machine's two cores, which every process
shares. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.guards.sql import SQLPolicy, guard_sql  # noqa: E402
from bench._common import emit  # noqa: E402
from datamove.extract import extract_table  # noqa: E402
from foundation.catalog import SOURCE_TABLES, Window  # noqa: E402
from foundation.connections import guarded_read  # noqa: E402
from foundation.replica import (  # noqa: E402
    ML_SESSION,
    ReplicaPolicy,
    ReplicaReads,
    primary_position,
    replay_status,
)
from foundation.settings import today  # noqa: E402
from orchestration.stack.postgres import (  # noqa: E402
    OWNER_ROLE,
    READER_ROLE,
    start_postgres,
    start_replica,
    stop_postgres,
)

FEATURES = [f"x{i}" for i in range(1, 11)]
HYPERPARAMS = {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 31, "n_jobs": 1}
# Golden queries as the data agent writes them: aggregates a person asks of the marketplace.
GOLDEN_QUERIES = [
    "SELECT a.industry, count(*) AS tasks, sum(t.revenue) AS revenue, avg(t.rating) AS rating "
    "FROM raw.tasks AS t JOIN raw.agents AS a ON a.id = t.agent_id GROUP BY a.industry ORDER BY revenue DESC",
    "SELECT provider, model, date_trunc('day', created_at) AS day, sum(prompt_tokens + completion_tokens) AS tokens, "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency FROM raw.llm_usage "
    "GROUP BY provider, model, date_trunc('day', created_at) ORDER BY day, tokens DESC",
    "SELECT role, avg(response_time_ms) AS response_ms, avg(rag_confidence) AS confidence, "
    "count(*) FILTER (WHERE is_error) AS errors FROM raw.chat_messages GROUP BY role",
    "SELECT t.agent_id, count(*) AS completed, avg(t.rating) AS rating FROM raw.tasks AS t "
    "WHERE t.status = 'completed' GROUP BY t.agent_id ORDER BY completed DESC LIMIT 20",
]
POLICY = SQLPolicy(allowed_tables=frozenset({"raw.tasks", "raw.agents", "raw.llm_usage", "raw.chat_messages"}),
                   default_dataset="raw", dialect="postgres", statement_timeout_ms=60_000)


def ingest(app_dsn: str, warehouse_dsn: str, window: Window) -> float:
    started = time.perf_counter()
    for table in SOURCE_TABLES:
        extract_table(table, app_dsn, warehouse_dsn, window if table.partitioned else None)
    return time.perf_counter() - started


def build_features(warehouse_dsn: str, rows: int) -> None:
    columns = ", ".join(f"(random() * 10)::float8 AS {name}" for name in FEATURES)
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench_ml")
        conn.execute("DROP TABLE IF EXISTS bench_ml.features")
        conn.execute(f"CREATE TABLE bench_ml.features AS SELECT {columns} FROM generate_series(1, {rows})")
        conn.execute("ALTER TABLE bench_ml.features ADD COLUMN y float8")
        conn.execute("UPDATE bench_ml.features SET y = 3 * x1 - 2 * x2 + x3 * x4 + random()")
        conn.execute("VACUUM ANALYZE bench_ml.features")


class AnalyticsLoop(threading.Thread):
    """ML training and golden queries, again and again, until stopped; reads where ``reads`` says."""

    def __init__(self, warehouse_dsn: str, reads: ReplicaReads, key: str) -> None:
        super().__init__(daemon=True)
        self.warehouse_dsn, self.reads, self.key = warehouse_dsn, reads, key
        self.stop = threading.Event()
        self.trainings = self.queries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from ml import PostgresML

        guarded = [guard_sql(query, POLICY) for query in GOLDEN_QUERIES]
        try:
            with psycopg.connect(self.warehouse_dsn, autocommit=True) as conn, \
                    PostgresML(conn, reads=self.reads, signing_key=self.key) as ml:
                while not self.stop.is_set():
                    ml.train("bench_replica", "regression", "bench_ml.features", "y", algorithm="lightgbm",
                             hyperparams=HYPERPARAMS, test_size=0.2, test_sampling="last")
                    self.trainings += 1
                    with self.reads.connect(autocommit=True) as read:
                        for query in guarded:
                            if self.stop.is_set():
                                break
                            with guarded_read(read, "60s"):
                                read.execute(query).fetchall()
                            self.queries += 1
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            self.error = error


class LagSampler(threading.Thread):
    """Every ``interval`` s: the primary's position now, and how long until the replica replays it."""

    def __init__(self, primary_dsn: str, replica_dsn: str, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.primary_dsn, self.replica_dsn, self.interval = primary_dsn, replica_dsn, interval
        self.stop = threading.Event()
        self.samples: list[float] = []

    def run(self) -> None:
        with psycopg.connect(self.primary_dsn, autocommit=True) as primary, \
                psycopg.connect(self.replica_dsn, autocommit=True) as replica:
            while not self.stop.is_set():
                target, taken = primary_position(primary), time.perf_counter()
                while True:
                    status = replay_status(replica)
                    if status.replay_lsn is not None and status.replay_lsn >= target:
                        break
                    time.sleep(0.005)
                self.samples.append(time.perf_counter() - taken)
                self.stop.wait(self.interval)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--feature-rows", type=int, default=200_000)
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from orchestration.simulator import simulate

    home = Path(tempfile.mkdtemp(prefix="bench-replica-", dir="/tmp"))
    os.chmod(home, 0o755)
    primary = start_postgres(home / "pgdata")
    replica = None
    try:
        app, warehouse = primary.dsn("app", OWNER_ROLE), primary.dsn("warehouse", OWNER_ROLE)
        end = today()
        window = Window(end - timedelta(days=options.days), end)
        simulate(app, seed=7, scale=options.scale, days=options.days, end_date=end, defects=0)
        build_features(warehouse, options.feature_rows)
        ingest(app, warehouse, window)  # the first load creates the raw tables; the timed ones replace
        replica = start_replica(primary, home / "replica")
        on_primary = primary.dsn("warehouse", READER_ROLE)
        key = secrets.token_hex(32)
        policy = ReplicaPolicy(max_wait_seconds=120)
        timings: dict[str, list[float]] = {"alone": [], "ml_on_primary": [], "ml_on_replica": []}
        loops: dict[str, dict[str, int]] = {"ml_on_primary": {"trainings": 0, "queries": 0},
                                            "ml_on_replica": {"trainings": 0, "queries": 0}}
        lags: list[float] = []
        for _ in range(options.rounds):
            for mode in timings:
                with psycopg.connect(warehouse, autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")  # no autovacuum of the previous round inside a timing
                if mode == "alone":
                    timings[mode].append(ingest(app, warehouse, window))
                    continue
                read_dsn = replica.dsn() if mode == "ml_on_replica" else on_primary
                reads = ReplicaReads.open(warehouse, read_dsn, policy, ML_SESSION)
                loop = AnalyticsLoop(warehouse, reads, key)
                sampler = LagSampler(warehouse, replica.dsn("postgres", "postgres")) if mode == "ml_on_replica" else None
                loop.start()
                time.sleep(2.0)  # the loop is training when the ingestion starts
                if sampler is not None:
                    sampler.start()
                timings[mode].append(ingest(app, warehouse, window))
                loop.stop.set()
                loop.join()
                if sampler is not None:
                    sampler.stop.set()
                    sampler.join()
                    lags += sampler.samples
                if loop.error is not None:
                    raise loop.error
                loops[mode]["trainings"] += loop.trainings
                loops[mode]["queries"] += loop.queries
        alone = statistics.median(timings["alone"])
        result: dict[str, Any] = {
            "ingest_seconds_alone": round(alone, 3),
            "ingest_seconds_with_ml_on_primary": round(statistics.median(timings["ml_on_primary"]), 3),
            "ingest_seconds_with_ml_on_replica": round(statistics.median(timings["ml_on_replica"]), 3),
            "ingest_slowdown_with_ml_on_primary": round(statistics.median(timings["ml_on_primary"]) / alone, 3),
            "ingest_slowdown_with_ml_on_replica": round(statistics.median(timings["ml_on_replica"]) / alone, 3),
            "replica_lag_p95_seconds": round(percentile(lags, 0.95), 3),
            "replica_lag_max_seconds": round(max(lags), 3) if lags else None,
            "lag_samples": len(lags),
            "analytics": loops,
            "rounds": options.rounds, "days": options.days, "scale": options.scale,
            "feature_rows": options.feature_rows, "cores": os.cpu_count(),
        }
        print(json.dumps({"timings": timings}), file=sys.stderr)
        emit(result)
    finally:
        if replica is not None:
            stop_postgres(replica.datadir)
        stop_postgres(primary.pgdata)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
