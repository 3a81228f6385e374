"""A scratch warehouse with old months: the tiny simulated raw rows, copied and shifted back in time.

The session ``warehouse`` fixture only covers the last 30 days (all hot). Each scratch
database gets every archived raw table (``ARCHIVED_TABLES``: tasks, chat and LLM usage, the
telemetry streams, chat sessions) with the same
column types, holding the original rows (hot) plus copies moved back by whole months and
a few days (ids offset so they stay unique), so warm and cold months exist. The extra days
put the middle of a month at the copies' end: on any "today" each shifted copy spans two
calendar months (on the 1st, the 30 days alone would fill exactly one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from datamove.archive import manifest as mf
from datamove.archive.policy import ARCHIVED_TABLES, next_month
from datamove.archive.storage import ArchiveStore
from foundation.catalog import SOURCE_TABLES_BY_NAME
from foundation.settings import Settings
from orchestration.stack.postgres import OWNER_ROLE

ID_OFFSET = 100_000_000
Row = tuple[int, str]  # (id, checksum column as text): one entry per row


@dataclass(frozen=True)
class ScratchWarehouse:
    dsn: str
    name: str
    shifts: tuple[int, ...]

    def months(self, table: str, shift: int) -> list[date]:
        """The months holding the rows moved back by ``shift`` months."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                sql.SQL("SELECT DISTINCT date_trunc('month', _partition_date)::date FROM {} "
                        "WHERE id >= %s AND id < %s ORDER BY 1").format(sql.Identifier("raw", table)),
                (shift * ID_OFFSET, (shift + 1) * ID_OFFSET),
            ).fetchall()
        return [r[0] for r in rows]


def _superuser_dsn(settings: Settings, database: str = "postgres") -> str:
    return f"postgresql://postgres@/{database}?host={settings.pgdata}"


def _columns(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (f"raw.{table}",),
    ).fetchall()


def days_past_mid_month(day: date) -> int:
    """Days from the latest 15th on or before ``day`` to ``day``."""
    mid = day.replace(day=15) if day.day >= 15 else (day.replace(day=1) - timedelta(days=1)).replace(day=15)
    return (day - mid).days


def create_scratch_warehouse(settings: Settings, shifts: tuple[int, ...], window_end: date) -> ScratchWarehouse:
    """``window_end``: the (exclusive) end of the session warehouse's window, the platform's today."""
    name = f"archive_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_superuser_dsn(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(OWNER_ROLE)))
    dsn = f"postgresql://{OWNER_ROLE}@/{name}?host={settings.pgdata}"
    with psycopg.connect(settings.warehouse_dsn) as source, psycopg.connect(dsn) as target:  # type: ignore[arg-type]
        target.execute("CREATE SCHEMA raw")
        for table in ARCHIVED_TABLES:
            columns = _columns(source, table)
            target.execute(sql.SQL("CREATE TABLE {} ({})").format(
                sql.Identifier("raw", table),
                sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns)))
            target.execute(sql.SQL("CREATE INDEX ON {} (_partition_date)").format(sql.Identifier("raw", table)))
            for shift in (0, *shifts):
                _copy_shifted(source, target, table, columns, shift, days_past_mid_month(window_end) if shift else 0)
    return ScratchWarehouse(dsn, name, shifts)


def _copy_shifted(source: psycopg.Connection, target: psycopg.Connection, table: str,
                  columns: list[tuple[str, str]], months: int, days: int) -> None:
    back = sql.Literal(f"{months} months {days} days")
    expressions = []
    for column, kind in columns:
        ident = sql.Identifier(column)
        if column == "id":
            expressions.append(sql.SQL("{} + {}").format(ident, sql.Literal(months * ID_OFFSET)))
        elif column == "_partition_date":
            event = sql.Identifier(SOURCE_TABLES_BY_NAME[table].partition_column or "created_at")
            expressions.append(sql.SQL("(({} - {}::interval) AT TIME ZONE 'UTC')::date").format(event, back))
        elif kind.startswith("timestamp") and column != "_extracted_at":
            expressions.append(sql.SQL("{} - {}::interval").format(ident, back))
        else:
            expressions.append(ident)
    out = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)").format(
        sql.SQL(", ").join(expressions), sql.Identifier("raw", table))
    into = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier("raw", table))
    with source.cursor() as reader, target.cursor() as writer, reader.copy(out) as copy_out, \
            writer.copy(into) as copy_in:
        for chunk in copy_out:
            copy_in.write(chunk)


def drop_scratch_warehouse(settings: Settings, scratch: ScratchWarehouse) -> None:
    with psycopg.connect(_superuser_dsn(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch.name)))


# -- what is counted -------------------------------------------------------------------


def raw_rows(dsn: str, table: str, month: date) -> list[Row]:
    spec = ARCHIVED_TABLES[table]
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            sql.SQL("SELECT {}, {}::text FROM {} WHERE _partition_date >= %s AND _partition_date < %s").format(
                sql.Identifier(spec.id_column), sql.Identifier(spec.checksum_column), sql.Identifier("raw", table)),
            (month, next_month(month)),
        ).fetchall()
    return sorted((int(i), _norm(v)) for i, v in rows)


def _norm(value: object) -> str:
    return "NULL" if value is None else str(Decimal(str(value)).normalize())


def archived_rows(dsn: str, archive_url: str, table: str, month: date) -> list[Row]:
    """Rows of the month that the manifest counts in Parquet (none unless the month is ``archived``)."""
    spec = ARCHIVED_TABLES[table]
    with psycopg.connect(dsn) as conn:
        entry = mf.read_entry(conn, table, month)
    if entry is None or entry.state != "archived":
        return []
    store = ArchiveStore(archive_url)
    rows: list[Row] = []
    for record in entry.files:
        data = pq.read_table(store.resolve(record["path"]).path, columns=[spec.id_column, spec.checksum_column])
        rows.extend(zip(data.column(0).to_pylist(), map(_norm, data.column(1).to_pylist()), strict=True))
    return sorted(rows)


def counted_rows(dsn: str, archive_url: str, table: str, month: date) -> list[Row]:
    """What a reader sees when it unions raw with the published, manifest-counted Parquet."""
    return sorted(raw_rows(dsn, table, month) + archived_rows(dsn, archive_url, table, month))


def files_under(root: str) -> list[str]:
    base = Path(root)
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()) if base.exists() else []
