"""Write generated frames into the app database with COPY (no row-by-row inserts)."""

from __future__ import annotations

import io
import logging

import pandas as pd
import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

_CHUNK_ROWS = 200_000


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> int:
    """COPY ``frame`` (its non-underscore columns) into ``table``; returns rows written."""
    columns = [c for c in frame.columns if not c.startswith("_")]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for start in range(0, len(frame), _CHUNK_ROWS):
            buffer = io.StringIO()
            frame.iloc[start : start + _CHUNK_ROWS][columns].to_csv(buffer, index=False, header=False)
            copy.write(buffer.getvalue())
    return len(frame)


def truncate(conn: psycopg.Connection, tables: list[str]) -> None:
    conn.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
    )
