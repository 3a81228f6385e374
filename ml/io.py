"""Columnar reads from PostgreSQL: ADBC ``fetch_arrow_table``, never row by row.

ADBC (libpq's binary COPY underneath) is the fastest measured path on this machine
(see FACTS.md, "Data movement"). NUMERIC arrives from ADBC as an opaque string type,
so callers cast numeric columns to float8 in the SELECT itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading

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


class ArrowReader:
    """One read-only ADBC session reused for every read of an engine.

    Read-only so that a caller-supplied filter can never write.

    Opening a session costs ~60 ms here (SCRAM authentication), a fifth of reading
    200,000 rows, so it is opened on first use and kept until ``close``. A session
    that was dropped in between (server restart, idle timeout) is reopened once.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: adbc.Connection | None = None
        self._lock = threading.Lock()

    def fetch(self, query: sql.Composable, render_with: psycopg.Connection) -> pa.Table:
        text = query.as_string(render_with)
        with self._lock:
            reused = self._conn is not None
            try:
                table = self._fetch(text)
            except adbc.OperationalError:
                self._close()
                if not reused:
                    raise
                log.info("ADBC session was dropped; reconnecting")
                table = self._fetch(text)
        log.debug("fetched %d rows x %d columns over ADBC", table.num_rows, table.num_columns)
        return table

    def _fetch(self, text: str) -> pa.Table:
        if self._conn is None:
            conn = adbc.connect(self.dsn, autocommit=True)
            with conn.cursor() as cur:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            self._conn = conn
        with self._conn.cursor() as cur:
            cur.execute(text)
            return cur.fetch_arrow_table()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(adbc.Error):  # already broken
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._close()
