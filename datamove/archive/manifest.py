"""``archive.manifest``: the warehouse's record of which months live in Parquet.

One row per (table, month). ``state = 'archived'`` is written in the same transaction
that deletes the month's rows from ``raw.<table>``, so at every instant a row is counted
exactly once: from PostgreSQL, or from the manifest's files when the month is archived.
A published file of a month that is not ``archived`` is an unfinished attempt: readers
ignore it and the next run replaces or removes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from datamove.archive.arrow_io import Totals
from foundation.connections import connect

SCHEMA = "archive"
MANIFEST_TABLE = f"{SCHEMA}.manifest"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {MANIFEST_TABLE} (
    table_name       text        NOT NULL,
    month            date        NOT NULL CHECK (extract(day FROM month) = 1),
    state            text        NOT NULL CHECK (state IN ('archived', 'restored')),
    tier             text        NOT NULL CHECK (tier IN ('warm', 'cold')),
    files            jsonb       NOT NULL,
    rows             bigint      NOT NULL,
    id_sum           numeric     NOT NULL,
    checksum         numeric,
    checksum_column  text        NOT NULL,
    bytes            bigint      NOT NULL,
    archive_url      text        NOT NULL,
    archived_at      timestamptz NOT NULL,
    restored_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, month)
);
"""


@dataclass(frozen=True)
class ManifestEntry:
    table: str
    month: date
    state: str
    tier: str
    files: list[dict[str, Any]]  # [{"path": relative to ARCHIVE_URL, "rows", "bytes", "id_sum", "checksum"}]
    totals: Totals
    checksum_column: str
    bytes: int
    archive_url: str
    archived_at: datetime
    restored_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.table, "month": self.month.isoformat()[:7], "state": self.state, "tier": self.tier,
            "files": self.files, **self.totals.as_json(), "checksum_column": self.checksum_column,
            "bytes": self.bytes, "archived_at": self.archived_at.isoformat(),
            "restored_at": self.restored_at.isoformat() if self.restored_at else None,
        }  # fmt: skip


def ensure_manifest_table(dsn: str) -> None:
    with connect(dsn) as conn:
        # Concurrent first runs would race on CREATE ... IF NOT EXISTS (catalog unique violation).
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('archive.manifest'))")
        conn.execute(_DDL)


def manifest_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MANIFEST_TABLE,)).fetchone()[0]  # type: ignore[index]


def lock_table(conn: psycopg.Connection, table: str) -> None:
    """Serialise archive work on one table (until the transaction ends)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{SCHEMA}.{table}",))


def lock_raw_table(conn: psycopg.Connection, table: str) -> None:
    """The raw layer's own lock: an extraction of ``raw.<table>`` waits until we commit."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"raw.{table}",))


_COLUMNS = ("table_name, month, state, tier, files, rows, id_sum, checksum, checksum_column, bytes, "
            "archive_url, archived_at, restored_at")


def _entry(row: tuple[Any, ...]) -> ManifestEntry:
    (table, month, state, tier, files, rows, id_sum, checksum, checksum_column, size, url, archived_at,
     restored_at) = row
    return ManifestEntry(table, month, state, tier, list(files), Totals.of(rows, id_sum, checksum),
                         checksum_column, int(size), url, archived_at, restored_at)


def read_entry(conn: psycopg.Connection, table: str, month: date) -> ManifestEntry | None:
    if not manifest_exists(conn):
        return None
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM {MANIFEST_TABLE} WHERE table_name = %s AND month = %s",  # noqa: S608 - constants
        (table, month),
    ).fetchone()
    return _entry(row) if row else None


def list_entries(conn: psycopg.Connection, table: str | None = None, state: str | None = None
                 ) -> list[ManifestEntry]:
    if not manifest_exists(conn):
        return []
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {MANIFEST_TABLE} "  # noqa: S608 - constants
        "WHERE (%(table)s::text IS NULL OR table_name = %(table)s) AND (%(state)s::text IS NULL OR state = %(state)s) "
        "ORDER BY table_name, month",
        {"table": table, "state": state},
    ).fetchall()
    return [_entry(r) for r in rows]


def archived_months_between(conn: psycopg.Connection, table: str, start: date, end: date) -> list[ManifestEntry]:
    """Archived months of ``table`` that overlap the days [start, end)."""
    if not manifest_exists(conn):
        return []
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {MANIFEST_TABLE} WHERE table_name = %s AND state = 'archived' "  # noqa: S608
        "AND month < %s AND (month + interval '1 month') > %s ORDER BY month",
        (table, end, start),
    ).fetchall()
    return [_entry(r) for r in rows]


def record_archived(conn: psycopg.Connection, *, table: str, month: date, tier: str, files: list[dict[str, Any]],
                    totals: Totals, checksum_column: str, size: int, archive_url: str) -> None:
    conn.execute(
        f"""
        INSERT INTO {MANIFEST_TABLE} ({_COLUMNS}, updated_at)
        VALUES (%s, %s, 'archived', %s, %s, %s, %s, %s, %s, %s, %s, now(), NULL, now())
        ON CONFLICT (table_name, month) DO UPDATE SET
            state = 'archived', tier = EXCLUDED.tier, files = EXCLUDED.files, rows = EXCLUDED.rows,
            id_sum = EXCLUDED.id_sum, checksum = EXCLUDED.checksum, checksum_column = EXCLUDED.checksum_column,
            bytes = EXCLUDED.bytes, archive_url = EXCLUDED.archive_url, archived_at = now(), restored_at = NULL,
            updated_at = now()
        """,  # noqa: S608 - constants
        (table, month, tier, json.dumps(files), totals.rows, Decimal(totals.id_sum), totals.checksum,
         checksum_column, size, archive_url),
    )


def record_moved(conn: psycopg.Connection, *, table: str, month: date, tier: str, files: list[dict[str, Any]],
                 size: int) -> None:
    conn.execute(
        f"UPDATE {MANIFEST_TABLE} SET tier = %s, files = %s, bytes = %s, updated_at = now() "  # noqa: S608
        "WHERE table_name = %s AND month = %s AND state = 'archived'",
        (tier, json.dumps(files), size, table, month),
    )


def record_restored(conn: psycopg.Connection, table: str, month: date) -> None:
    conn.execute(
        f"UPDATE {MANIFEST_TABLE} SET state = 'restored', restored_at = now(), updated_at = now() "  # noqa: S608
        "WHERE table_name = %s AND month = %s AND state = 'archived'",
        (table, month),
    )
