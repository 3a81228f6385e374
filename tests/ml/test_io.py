"""The engine's ADBC session: reused, read-only, reopened once when the server dropped it."""

from __future__ import annotations

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pytest
from psycopg import sql

from ml.io import ArrowReader, conninfo_of


def test_one_session_reused_read_only_and_reopened_after_a_drop(warehouse: psycopg.Connection) -> None:
    reader = ArrowReader(conninfo_of(warehouse))
    pid = sql.SQL("SELECT pg_backend_pid() AS pid")
    try:
        first = reader.fetch(pid, warehouse).column("pid")[0].as_py()
        assert reader.fetch(pid, warehouse).column("pid")[0].as_py() == first  # no new connection per read

        with pytest.raises(adbc.Error, match="read-only"):
            reader.fetch(sql.SQL("CREATE TABLE ml_test.written_by_a_filter (x int)"), warehouse)

        warehouse.execute("SELECT pg_terminate_backend(%s)", (first,))
        again = reader.fetch(pid, warehouse).column("pid")[0].as_py()
        assert again != first
    finally:
        reader.close()
