"""Reads on the streaming replica, writes on the primary (seed 003's primary/replica split).

A step asks ``route_reads`` where its reads go: the replica when it answers; when it does not,
the primary with a warning the run records (``PLATFORM_REPLICA_FAILOVER=primary``, the
default), or a ``ReplicaUnavailableError`` (``fail``). The fail-over keeps the replica DSN's
role, database and settings and only swaps the server, so a read never becomes the owner's.

A replica is behind its primary by the time it takes to replay the primary's WAL. A step that
reads what its run has just written (a training view created a moment ago, the raw rows the
scorecard scores) calls ``ReplicaReads.sync``: it takes the primary's WAL position now and
waits, bounded by ``PLATFORM_REPLICA_MAX_WAIT``, until ``pg_last_wal_replay_lsn()`` on the
replica has reached it; past the bound it fails with ``ReplicaLagError`` naming both positions.
A DSN that is not in recovery (no replica configured: the reader role on the primary) needs no
wait: its reads see every commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from foundation.connections import SESSION_OPTIONS, connect, with_session_settings
from foundation.settings import Settings, mask_dsn

log = logging.getLogger(__name__)

# Seed 003's ML session (get_ml_session_context): read-only, a statement timeout, more memory
# per sort/hash for training scans, and SSD-like random I/O costs.
ML_SESSION: Mapping[str, str] = {
    "default_transaction_read_only": "on",
    "statement_timeout": "300s",
    "work_mem": "256MB",
    "random_page_cost": "1.1",
}

_CONNECT_TIMEOUT = 3  # seconds: a replica that does not answer by then counts as down


class ReplicaUnavailableError(RuntimeError):
    """The replica cannot be reached and the policy says to fail rather than read on the primary."""


class ReplicaLagError(RuntimeError):
    """The replica did not replay the primary's position within the bound."""


@dataclass(frozen=True)
class ReplicaPolicy:
    max_wait_seconds: float = 30.0
    failover: str = "primary"  # "primary" | "fail"

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplicaPolicy:
        return cls(settings.replica_max_wait, settings.replica_failover)


@dataclass(frozen=True)
class ReadRoute:
    """Where a step's reads go."""

    dsn: str
    server: str  # "replica" | "primary"
    in_recovery: bool  # a streaming replica: reads may need to wait for replay
    warning: str | None = None  # set on a fail-over

    @property
    def failed_over(self) -> bool:
        return self.warning is not None


def lsn_to_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def record_end(insert_lsn: int, block_size: int, segment_size: int) -> int:
    """The end of the last WAL record before ``pg_current_wal_insert_lsn()``.

    At a page boundary the insert position points past the next page's header, which replay
    never reaches until another record is written: step back over the header (24 bytes, or 40
    at the start of a segment)."""
    if insert_lsn % segment_size == 40:
        return insert_lsn - 40
    if insert_lsn % block_size == 24:
        return insert_lsn - 24
    return insert_lsn


def primary_position(conn: psycopg.Connection) -> int:
    """The primary's WAL position after everything committed so far (as an integer LSN)."""
    row = conn.execute(
        "SELECT pg_current_wal_insert_lsn()::text, current_setting('wal_block_size')::int,"
        " pg_size_bytes(current_setting('wal_segment_size'))"
    ).fetchone()
    assert row is not None
    return record_end(lsn_to_int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class ReplayStatus:
    replay_lsn: int | None
    receive_lsn: int | None
    lag_seconds: float  # 0 when everything received is replayed

    def describe(self) -> str:
        replayed = int_to_lsn(self.replay_lsn) if self.replay_lsn is not None else "nothing"
        return f"replayed up to {replayed}, {self.lag_seconds:.1f} s behind its last replayed commit"


def replay_status(conn: psycopg.Connection) -> ReplayStatus:
    row = conn.execute(
        "SELECT pg_last_wal_replay_lsn()::text, pg_last_wal_receive_lsn()::text,"
        " CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
        " ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"
    ).fetchone()
    assert row is not None
    return ReplayStatus(lsn_to_int(row[0]) if row[0] else None, lsn_to_int(row[1]) if row[1] else None,
                        float(row[2] or 0))


def wait_for_replay(replica_dsn: str, target: int, max_wait_seconds: float) -> float:
    """Wait until the replica has replayed ``target``; returns the seconds waited."""
    started = time.monotonic()
    deadline = started + max_wait_seconds
    delay = 0.005
    with _connect_replica(replica_dsn) as conn:
        while True:
            status = replay_status(conn)
            if status.replay_lsn is not None and status.replay_lsn >= target:
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise ReplicaLagError(
                    f"the read replica {mask_dsn(replica_dsn)} did not replay the primary's position "
                    f"{int_to_lsn(target)} within {max_wait_seconds:g} s ({status.describe()}): reads stop here "
                    "rather than see stale rows; check the replica's replication (pg_stat_wal_receiver) or raise "
                    "PLATFORM_REPLICA_MAX_WAIT"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _connect_replica(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT, options=SESSION_OPTIONS)


def failover_dsn(read_dsn: str, primary_dsn: str) -> str:
    """The replica DSN (role, database, settings) aimed at the primary's server.

    Physical replication copies roles, so the replica's read-only role exists on the primary too."""
    params = {k: str(v) for k, v in conninfo_to_dict(read_dsn).items() if k not in ("host", "hostaddr", "port")}
    server = {k: str(v) for k, v in conninfo_to_dict(primary_dsn).items() if k in ("host", "hostaddr", "port")}
    return make_conninfo(**params, **server)


def route_reads(primary_dsn: str, read_dsn: str, policy: ReplicaPolicy) -> ReadRoute:
    """Where reads go now: the replica (or the reader on the primary), or the primary on a fail-over."""
    try:
        with _connect_replica(read_dsn) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        in_recovery = bool(row and row[0])
        return ReadRoute(read_dsn, "replica" if in_recovery else "primary", in_recovery)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if policy.failover == "fail":
            raise ReplicaUnavailableError(
                f"the read replica {mask_dsn(read_dsn)} is unreachable ({reason}); PLATFORM_REPLICA_FAILOVER=fail "
                "stops the step here (set it to 'primary' to read from the primary instead)"
            ) from error
        fallback = failover_dsn(read_dsn, primary_dsn)
        warning = (f"read replica {mask_dsn(read_dsn)} is unreachable ({reason}): reads failed over to the "
                   f"primary ({mask_dsn(fallback)})")
        log.warning(warning)
        return ReadRoute(fallback, "primary", False, warning)


@dataclass
class ReplicaReads:
    """One step's reads: where they go, with which session settings, and the waits that made them
    see the run's own writes."""

    primary_dsn: str
    route: ReadRoute
    policy: ReplicaPolicy
    session: Mapping[str, str] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)

    @classmethod
    def open(cls, primary_dsn: str, read_dsn: str, policy: ReplicaPolicy,
             session: Mapping[str, str] | None = None) -> ReplicaReads:
        return cls(primary_dsn, route_reads(primary_dsn, read_dsn, policy), policy, dict(session or {}))

    @property
    def dsn(self) -> str:
        """The DSN reads use: the route's, with the session settings."""
        return with_session_settings(self.route.dsn, self.session)

    def sync(self, primary: psycopg.Connection | None = None) -> float:
        """Wait until the replica shows everything committed on the primary so far; seconds waited."""
        if not self.route.in_recovery:
            return 0.0
        if primary is not None:
            target = primary_position(primary)
        else:
            with connect(self.primary_dsn, autocommit=True) as conn:
                target = primary_position(conn)
        waited = wait_for_replay(self.route.dsn, target, self.policy.max_wait_seconds)
        self.waits.append(waited)
        return waited

    @contextmanager
    def connect(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A read connection that sees everything committed on the primary before it was opened."""
        self.sync()
        with connect(self.dsn, autocommit=autocommit) as conn:
            yield conn

    def metadata(self) -> dict[str, Any]:
        """What a run records about its reads (no secrets: the DSN is masked)."""
        meta: dict[str, Any] = {
            "reads_served_by": self.route.server,
            "reads_dsn": mask_dsn(self.route.dsn),
        }
        if self.waits:
            meta["replica_waits"] = len(self.waits)
            meta["replica_wait_seconds_max"] = round(max(self.waits), 3)
        if self.route.warning:
            meta["replica_failover"] = self.route.warning
        return meta


def replica_lag(read_dsn: str, primary_dsn: str | None = None) -> dict[str, Any]:
    """The replica's lag now: seconds behind its last replayed commit and, given the primary, bytes."""
    with _connect_replica(read_dsn) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if not (row and row[0]):
            return {"in_recovery": False, "lag_seconds": 0.0, "lag_bytes": 0}
        status = replay_status(conn)
    lag: dict[str, Any] = {"in_recovery": True, "lag_seconds": round(status.lag_seconds, 3)}
    if primary_dsn and status.replay_lsn is not None:
        with connect(primary_dsn, autocommit=True) as primary:
            lag["lag_bytes"] = max(0, primary_position(primary) - status.replay_lsn)
    return lag
