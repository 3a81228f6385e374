"""``housekeeping_deletions`` (app database): every deletion a clean-up makes, what, when and why.

A deletion outside PostgreSQL (a BigQuery dataset) is written as an ``intent`` first and set
``done`` once the thing is gone, so a crash between the two leaves an open intent that the next
run finishes. A deletion inside the app database is recorded ``done`` in the transaction that
deletes, so the two cannot disagree. At most one open intent exists per (kind, target).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

TABLE = "housekeeping_deletions"


@dataclass(frozen=True)
class Deletion:
    id: int
    kind: str
    target: str
    request_id: int | None
    reason: str
    state: str
    items: int
    intended_at: datetime
    deleted_at: datetime | None
    details: dict[str, Any] | None = None

    @property
    def already_gone(self) -> bool:
        """Recorded as deleted, but nothing was there (a dataset never built or removed by hand)."""
        return bool((self.details or {}).get("already_gone"))


_COLUMNS = "id, kind, target, request_id, reason, state, items, intended_at, deleted_at, details"


def record_intent(conn: psycopg.Connection, *, kind: str, target: str, reason: str,
                  request_id: int | None = None, now: datetime | None = None) -> int:
    """The open intent of (kind, target): the existing one, else a new one. Not committed here."""
    row = conn.execute(
        f"SELECT id FROM {TABLE} WHERE kind = %s AND target = %s AND state = 'intent'",  # noqa: S608
        (kind, target)).fetchone()
    if row:
        return int(row[0])
    row = conn.execute(
        f"INSERT INTO {TABLE} (kind, target, request_id, reason, intended_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, COALESCE(%s, now())) RETURNING id",
        (kind, target, request_id, reason, now)).fetchone()
    assert row is not None
    return int(row[0])


def complete(conn: psycopg.Connection, deletion_id: int, *, items: int = 1, details: dict[str, Any] | None = None,
             now: datetime | None = None) -> None:
    conn.execute(
        f"UPDATE {TABLE} SET state = 'done', items = %s, details = COALESCE(%s, details), "  # noqa: S608
        "deleted_at = COALESCE(%s, now()) WHERE id = %s AND state = 'intent'",
        (items, Jsonb(details) if details is not None else None, now, deletion_id))


def cancel(conn: psycopg.Connection, deletion_id: int, why: str) -> None:
    """An intent the policy no longer asks for (the demo was flagged in use meanwhile)."""
    conn.execute(
        f"UPDATE {TABLE} SET state = 'cancelled', details = %s WHERE id = %s AND state = 'intent'",  # noqa: S608
        (Jsonb({"cancelled": why}), deletion_id))


def record_done(conn: psycopg.Connection, *, kind: str, target: str, reason: str, items: int,
                request_id: int | None = None, details: dict[str, Any] | None = None,
                now: datetime | None = None) -> int:
    """A deletion made in the caller's transaction (recorded with it, committed with it)."""
    row = conn.execute(
        f"INSERT INTO {TABLE} (kind, target, request_id, reason, state, items, details, intended_at, deleted_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, 'done', %s, %s, COALESCE(%s, now()), COALESCE(%s, now())) RETURNING id",
        (kind, target, request_id, reason, items, Jsonb(details) if details is not None else None, now, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def open_intents(conn: psycopg.Connection, kind: str | None = None) -> list[Deletion]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE state = 'intent' "  # noqa: S608
        "AND (%(kind)s::text IS NULL OR kind = %(kind)s) ORDER BY id", {"kind": kind}).fetchall()
    return [Deletion(*r) for r in rows]


def deletions(dsn: str, *, since_id: int = 0, kind: str | None = None) -> list[Deletion]:
    """Recorded deletions after ``since_id`` (oldest first): what the assets and the demo report."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE id > %(since)s "  # noqa: S608
            "AND (%(kind)s::text IS NULL OR kind = %(kind)s) ORDER BY id", {"since": since_id, "kind": kind},
        ).fetchall()
    return [Deletion(*r) for r in rows]


def last_id(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT coalesce(max(id), 0) FROM {TABLE}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0
