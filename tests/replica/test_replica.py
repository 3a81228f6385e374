"""The embedded streaming replica and the reads routed to it (issue 16, items 1-3, and its bad input).

One replica of the session's PostgreSQL for the module (``PLATFORM_REPLICA=1``, as
``platform up --replica`` starts it), stopped by pid at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date

import dagster as dg
import psycopg
import pytest

from foundation.replica import (
    ML_SESSION,
    ReplicaLagError,
    ReplicaPolicy,
    ReplicaReads,
    ReplicaUnavailableError,
    route_reads,
)
from foundation.settings import Settings
from orchestration.lib.resources import FAILOVER_TAG, PostgresResource, postgresml
from orchestration.stack.postgres import (
    REPLICA_PORT,
    _run_as_server_user,
    ensure_environment,
    postmaster_pid,
    replica_dir,
    start_postgres,
    start_replica,
    stop_postgres,
)

POLICY = ReplicaPolicy(max_wait_seconds=30.0)


@pytest.fixture(scope="module")
def replica(platform: Settings) -> Iterator[Settings]:
    """The session's stack with a replica: settings whose replica_dsn is the replica's reader."""
    saved = {k: os.environ.get(k) for k in ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN", "PLATFORM_REPLICA")}
    os.environ.pop("PLATFORM_APP_DSN")
    os.environ.pop("PLATFORM_WAREHOUSE_DSN")
    os.environ["PLATFORM_REPLICA"] = "1"
    try:
        settings = ensure_environment()
        yield settings
    finally:
        stop_postgres(replica_dir(platform))
        os.environ.pop("PLATFORM_REPLICA")
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
        ensure_environment()  # the reads go back to the reader on the primary


def _superuser(dsn: str, database: str = "postgres") -> str:
    base, query = dsn.split("?", 1)
    return f"postgresql://postgres@/{database}?{query}"


def _table(settings: Settings, rows: int) -> str:
    """A fresh table of ``rows`` rows written on the primary."""
    name = f"replica_probe.t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.warehouse_dsn, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE SCHEMA IF NOT EXISTS replica_probe")
        conn.execute(f"CREATE TABLE {name} AS SELECT g AS x, 2 * g + 1 AS y FROM generate_series(1, {rows}) g")
    return name


def test_replica_is_a_streaming_standby_on_its_own_port(replica: Settings) -> None:
    assert replica.replica_dsn and f"port={REPLICA_PORT}" in replica.replica_dsn
    assert str(replica_dir(replica)) in replica.replica_dsn
    assert postmaster_pid(replica_dir(replica)) not in (None, postmaster_pid(replica.pgdata))
    with psycopg.connect(replica.replica_dsn) as conn:
        assert conn.execute("SELECT pg_is_in_recovery(), current_user").fetchone() == (True, "platform_reader")
    with psycopg.connect(_superuser(replica.warehouse_dsn)) as conn:  # type: ignore[arg-type]
        senders = conn.execute("SELECT application_name, state FROM pg_stat_replication").fetchall()
    assert ("platform_replica", "streaming") in senders


def test_reads_wait_for_the_rows_the_run_just_wrote(replica: Settings) -> None:
    reads = ReplicaReads.open(replica.warehouse_dsn, replica.replica_dsn, POLICY, ML_SESSION)  # type: ignore[arg-type]
    assert reads.route.server == "replica" and not reads.route.failed_over
    for rows in (10, 50_000):  # read right after each write: never fewer rows than written
        table = _table(replica, rows)
        with reads.connect() as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (rows,)
    assert len(reads.waits) == 2 and reads.metadata()["reads_served_by"] == "replica"


def test_ml_session_on_the_replica_is_the_reader_read_only_with_seed_settings(replica: Settings) -> None:
    table = _table(replica, 40)
    with postgresml(PostgresResource(dsn=replica.warehouse_dsn), PostgresResource(dsn=replica.replica_dsn)) as ml:
        # trained right after the table was created on the primary: the read waited for its replay
        result = ml.train("replica_probe_model", "regression", table, "y", algorithm="linear", test_size=0.25,
                          test_sampling="last")
        assert result.deployed
        assert ml.predict("replica_probe_model", [100]) == pytest.approx(201, abs=1e-3)
        with psycopg.connect(ml.read_dsn) as conn:  # type: ignore[arg-type]
            session = conn.execute(
                "SELECT current_user, pg_is_in_recovery(), current_setting('transaction_read_only'),"
                " current_setting('statement_timeout'), current_setting('work_mem'),"
                " current_setting('random_page_cost')").fetchone()
        assert ml.reads is not None and ml.reads.waits
    assert session == ("platform_reader", True, "on", "5min", "256MB", "1.1")


def test_ml_health_answers_on_the_replica(replica: Settings) -> None:
    from orchestration.lib.ml_health import ml_health

    report = ml_health(PostgresResource(dsn=replica.warehouse_dsn), PostgresResource(dsn=replica.replica_dsn))
    assert report["healthy"], report
    assert report["reads_served_by"] == "replica" and report["replica_in_recovery"] is True
    assert report["version"] and report["prediction"] == pytest.approx(report["expected"], abs=1e-3)
    assert 0 <= report["replica_lag_seconds"] < 30 and report["replica_lag_bytes"] >= 0
    with psycopg.connect(replica.warehouse_dsn) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT count(*) FROM pgml.projects WHERE name = 'platform_health_check'"
                            ).fetchone() == (0,)  # the round trip leaves nothing behind


def test_a_lagging_replica_fails_the_read_with_a_clear_message(replica: Settings) -> None:
    superuser = _superuser(replica.replica_dsn, "warehouse")  # type: ignore[arg-type]
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        reads = ReplicaReads.open(replica.warehouse_dsn, replica.replica_dsn,  # type: ignore[arg-type]
                                  ReplicaPolicy(max_wait_seconds=1.0))
        table = _table(replica, 5)
        with pytest.raises(ReplicaLagError, match=r"did not replay the primary's position .* within 1 s"):
            reads.sync()
    finally:
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    with reads.connect() as conn:  # caught up again: the rows are there, none lost
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (5,)


def _scorecard_run(settings: Settings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    from orchestration.defs.quality.assets import scorecard

    return dg.materialize([scorecard], partition_key=date(2024, 1, 2).isoformat(), instance=instance,
                          resources={"warehouse_db": PostgresResource(dsn=settings.warehouse_dsn),  # type: ignore[arg-type]
                                     "replica_db": PostgresResource(dsn=settings.replica_dsn)})  # type: ignore[arg-type]


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_a_replica_that_is_down_fails_over_to_the_primary_and_the_run_says_so(replica: Settings,
                                                                              platform: Settings) -> None:
    instance = dg.DagsterInstance.ephemeral()
    healthy = _scorecard_run(replica, instance)
    assert _metadata(healthy)["reads_served_by"] == "replica"
    assert FAILOVER_TAG not in instance.get_run_by_id(healthy.run_id).tags  # type: ignore[union-attr]
    stop_postgres(replica_dir(replica))
    try:
        route = route_reads(replica.warehouse_dsn, replica.replica_dsn, POLICY)  # type: ignore[arg-type]
        assert route.server == "primary" and route.warning and "unreachable" in route.warning
        with psycopg.connect(route.dsn) as conn:  # the same read-only role, on the primary
            assert conn.execute("SELECT current_user, pg_is_in_recovery()").fetchone() == ("platform_reader", False)
        with pytest.raises(ReplicaUnavailableError, match="PLATFORM_REPLICA_FAILOVER=fail"):
            route_reads(replica.warehouse_dsn, replica.replica_dsn, ReplicaPolicy(failover="fail"))  # type: ignore[arg-type]

        failed_over = _scorecard_run(replica, instance)
        metadata = _metadata(failed_over)
        assert metadata["reads_served_by"] == "primary" and "unreachable" in str(metadata["replica_failover"])
        tags = instance.get_run_by_id(failed_over.run_id).tags  # type: ignore[union-attr]
        assert tags[FAILOVER_TAG] == "replica unreachable: reads on the primary"
    finally:
        start_replica(start_postgres(platform.pgdata), replica_dir(replica))


def test_a_primary_restart_during_a_run_loses_no_row(replica: Settings) -> None:
    reads = ReplicaReads.open(replica.warehouse_dsn, replica.replica_dsn, POLICY)  # type: ignore[arg-type]
    table = _table(replica, 1000)
    # a fast restart, as an operator's or a failover's: pg_ctl restart -m fast with the same options
    _run_as_server_user(["pg_ctl", "-D", str(replica.pgdata), "-w", "-m", "fast", "-l",
                         str(replica.pgdata / "log"), "restart"])
    with psycopg.connect(replica.warehouse_dsn, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f"INSERT INTO {table} SELECT g, 2 * g + 1 FROM generate_series(1001, 1500) g")
    with reads.connect() as conn:  # the replica reconnects to the restarted primary and replays both writes
        assert conn.execute(f"SELECT count(*), max(x) FROM {table}").fetchone() == (1500, 1500)
