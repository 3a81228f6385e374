"""How far the app database has got, per real-time table: the signal the real-time tier refreshes on.

A watermark is, for one table and one day, the number of rows whose event time falls on the day,
the highest id among them and the latest change (``updated_at`` where the table has one). Any
insert, late update or delete of the day changes it, so "the watermark moved" means "the raw copy
of the day may be stale". The query reads the source's indexes only and takes milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import psycopg
from psycopg import sql

from foundation.catalog import SourceTable


@dataclass(frozen=True)
class Watermark:
    table: str
    day: str
    rows: int
    max_id: int | None
    latest_change: str | None  # ISO timestamp

    def key(self) -> str:
        return f"{self.rows}:{self.max_id}:{self.latest_change}"


def read_watermarks(conn: psycopg.Connection, tables: tuple[SourceTable, ...], day: date) -> list[Watermark]:
    """The watermark of ``day`` for each table (its partition column's UTC day)."""
    marks = []
    start = datetime.combine(day, datetime.min.time()).isoformat() + "+00:00"
    end = datetime.combine(day + timedelta(days=1), datetime.min.time()).isoformat() + "+00:00"
    for table in tables:
        assert table.partition_column, f"{table.name} is not partitioned"
        changed = "updated_at" if "updated_at" in table.columns else table.partition_column
        query = sql.SQL("SELECT count(*), max({pk}), max({changed}) FROM {table} "
                        "WHERE {col} >= %s::timestamptz AND {col} < %s::timestamptz").format(
            pk=sql.Identifier(table.primary_key), changed=sql.Identifier(changed),
            table=sql.Identifier("public", table.name), col=sql.Identifier(table.partition_column))
        rows, max_id, latest = conn.execute(query, (start, end)).fetchone()  # type: ignore[misc]
        marks.append(Watermark(table.name, day.isoformat(), int(rows), None if max_id is None else int(max_id),
                               None if latest is None else latest.isoformat()))
    return marks


def encode(marks: list[Watermark]) -> str:
    return json.dumps([asdict(m) for m in marks], sort_keys=True)


def decode(text: str | None) -> list[Watermark]:
    return [Watermark(**m) for m in json.loads(text)] if text else []


def moved(before: list[Watermark], now: list[Watermark]) -> list[str]:
    """The tables whose watermark changed (all of them when the day changed)."""
    previous = {(m.table, m.day): m.key() for m in before}
    return [m.table for m in now if previous.get((m.table, m.day)) != m.key()]
