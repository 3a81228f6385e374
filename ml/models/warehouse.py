"""Warehouse access of the platform's models: views in schema ``ml``, reads.

dbt rebuilds a mart by renaming the old table and dropping it with CASCADE, which
also drops the views built on it; every asset, check and sensor therefore (re)creates
the views it needs right before using them instead of relying on an earlier run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.numeric import FloatLoader

from ml.models.specs import SCHEMA, ModelSpec

if TYPE_CHECKING:
    from ml import PostgresML

log = logging.getLogger(__name__)

_DDL_LOCK = "ml.models:ddl"  # serialises DDL of parallel steps in schema ml


def create_view(conn: psycopg.Connection, qualified_name: str, select_sql: str) -> None:
    """Create or replace ``schema.view`` with ``select_sql`` (trusted SQL written in this package)."""
    schema, name = qualified_name.split(".")
    view = sql.Identifier(schema, name)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_DDL_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        try:
            with conn.transaction():  # savepoint: keeps views built on this one when the columns are unchanged
                conn.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS\n{}").format(view, sql.SQL(select_sql)))
        except (psycopg.errors.InvalidTableDefinition, psycopg.errors.DatatypeMismatch):
            # Columns removed, renamed or retyped: replace it, and the views built on it, which their
            # owners (in this package) recreate before use.
            log.warning("replacing view %s: its columns changed", qualified_name)
            conn.execute(sql.SQL("DROP VIEW IF EXISTS {} CASCADE").format(view))
            conn.execute(sql.SQL("CREATE VIEW {} AS\n{}").format(view, sql.SQL(select_sql)))


def ensure_training_view(conn: psycopg.Connection, spec: ModelSpec) -> None:
    create_view(conn, spec.training_view, spec.training_sql)


def ensure_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_DDL_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))


def relation_exists(conn: psycopg.Connection, qualified_name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified_name,)).fetchone()
    return bool(row and row[0])


def relation(qualified_name: str) -> sql.Identifier:
    return sql.Identifier(*qualified_name.split("."))


def count_rows(conn: psycopg.Connection, select_sql: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM ({}) AS counted").format(sql.SQL(select_sql))).fetchone()
    return int(row[0]) if row else 0


def read_ml_frame(ml: PostgresML, query: str | sql.Composed,
                  params: tuple[object, ...] | dict[str, object] | None = None) -> pd.DataFrame:
    """A read of the ML session: on its read DSN (the replica), once that shows what ``ml.conn`` wrote;
    on ``ml.conn`` itself when the engine has no separate read DSN."""
    if ml.read_dsn is None:
        return read_frame(ml.conn, query, params)
    ml.sync_reads()
    return read_frame(ml.read_dsn, query, params)


def read_frame(
    conn_or_dsn: psycopg.Connection | str, query: str | sql.Composed,
    params: tuple[object, ...] | dict[str, object] | None = None,
) -> pd.DataFrame:
    """A query's rows as a DataFrame; NUMERIC arrives as float so values serialise to JSON."""
    if isinstance(conn_or_dsn, str):
        with psycopg.connect(conn_or_dsn) as conn:
            return read_frame(conn, query, params)
    with conn_or_dsn.cursor() as cur:
        cur.adapters.register_loader("numeric", FloatLoader)
        cur.execute(query, params)
        columns = [c.name for c in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)
