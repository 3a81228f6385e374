"""Columnar reads from PostgreSQL: ADBC ``fetch_arrow_table``, never row by row.

ADBC (libpq's binary COPY underneath) is the fastest measured path on this machine
(see FACTS.md, "Data movement"). NUMERIC arrives from ADBC as an opaque string type,
so callers cast numeric columns to float8 in the SELECT itself.
"""

from __future__ import annotations

import logging

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.conninfo import make_conninfo

log = logging.getLogger(__name__)


def conninfo_of(conn: psycopg.Connection) -> str:
    """A libpq conninfo that reaches the same database as ``conn`` (password included)."""
    params = conn.info.get_parameters()
    if conn.info.password:
        params["password"] = conn.info.password
    return make_conninfo(**params)


def fetch_arrow(dsn: str, query: sql.Composable, render_with: psycopg.Connection) -> pa.Table:
    """Run a read-only query over ADBC and return one Arrow table.

    The session is read-only so that a caller-supplied filter can never write.
    """
    text = query.as_string(render_with)
    with adbc.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cur.execute(text)
        table = cur.fetch_arrow_table()
    log.debug("fetched %d rows x %d columns over ADBC", table.num_rows, table.num_columns)
    return table
