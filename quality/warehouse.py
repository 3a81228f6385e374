"""Warehouse objects the quality layer owns: schemas, the JSON validator, quarantine tables, batch views.

Everything is created idempotently. Concurrent raw loads of different tables may reach
here at the same time, so creation happens under one advisory lock and only when the
object is missing (CREATE … IF NOT EXISTS alone still races in the catalog).
"""

from __future__ import annotations

import hashlib
from datetime import date

import psycopg

from foundation.catalog import RAW_SCHEMA
from quality.rules import QUALITY_SCHEMA, QUARANTINE_SCHEMA, Rule, TableSuite, ident

_DDL_LOCK = "quality.ddl"
QUARANTINE_COLUMNS = ("_rules", "_quarantined_at")
WINDOW_START_SETTING = "quality.window_start"
WINDOW_END_SETTING = "quality.window_end"

# pg_input_is_valid (PostgreSQL 16) checks without raising; older servers get the
# exception-trapping PL/pgSQL fallback.
_JSON_FUNCTION_16 = f"""
CREATE OR REPLACE FUNCTION {ident(QUALITY_SCHEMA, 'is_valid_json')}(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT pg_input_is_valid(value, 'jsonb') $$
"""
_JSON_FUNCTION_FALLBACK = f"""
CREATE OR REPLACE FUNCTION {ident(QUALITY_SCHEMA, 'is_valid_json')}(value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    PERFORM value::jsonb;
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END $$
"""


def relation_exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (ident(schema, name),)).fetchone()
    return bool(row and row[0])


def _function_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT to_regprocedure(%s) IS NOT NULL", (f"{QUALITY_SCHEMA}.is_valid_json(text)",)).fetchone()
    return bool(row and row[0])


def _ddl_lock(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_DDL_LOCK,))


def ensure_quality_objects(conn: psycopg.Connection) -> None:
    """The ``quality`` and ``quarantine`` schemas and ``quality.is_valid_json(text)``."""
    if _function_exists(conn) and conn.execute("SELECT to_regnamespace(%s)", (QUARANTINE_SCHEMA,)).fetchone()[0]:  # type: ignore[index]
        return
    _ddl_lock(conn)
    for schema in (QUALITY_SCHEMA, QUARANTINE_SCHEMA):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
    if not _function_exists(conn):
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
        conn.execute(_JSON_FUNCTION_16 if version >= 160000 else _JSON_FUNCTION_FALLBACK)


def columns_of(conn: psycopg.Connection, schema: str, name: str) -> dict[str, str]:
    rows = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
           WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
        (ident(schema, name),),
    ).fetchall()
    return dict(rows)


def ensure_quarantine_table(conn: psycopg.Connection, table: str) -> list[str]:
    """``quarantine.<table>``: the raw columns plus the rules broken and when; returns the raw columns."""
    raw_columns = columns_of(conn, RAW_SCHEMA, table)
    if not raw_columns:
        raise RuntimeError(f"raw.{table} does not exist: load raw/{table} before quarantining it")
    existing = columns_of(conn, QUARANTINE_SCHEMA, table)
    missing = [c for c in raw_columns if c not in existing]
    if existing and not missing:
        return list(raw_columns)
    _ddl_lock(conn)
    target = ident(QUARANTINE_SCHEMA, table)
    existing = columns_of(conn, QUARANTINE_SCHEMA, table)
    if not existing:
        conn.execute(f"CREATE TABLE {target} (LIKE {ident(RAW_SCHEMA, table)} INCLUDING DEFAULTS, "
                     "_rules text[] NOT NULL, _quarantined_at timestamptz NOT NULL DEFAULT now())")
        conn.execute(f"CREATE INDEX ON {target} (_partition_date)")
    else:
        # the raw table gained columns (the source added them): follow it
        for column in (c for c in raw_columns if c not in existing):
            conn.execute(f"ALTER TABLE {target} ADD COLUMN {ident(column)} {raw_columns[column]}")
    return list(raw_columns)


def missing_references(conn: psycopg.Connection, rule: Rule) -> str | None:
    """The raw table a reference rule needs when it is not loaded yet (the rule is then skipped)."""
    if rule.kind not in ("references", "parent_quarantined"):
        return None
    table = rule.params["ref_table"]
    if not relation_exists(conn, RAW_SCHEMA, table):
        return table
    ensure_quarantine_table(conn, table)
    return None


def window_filter(column: str, start: date | None, end: date | None) -> str:
    if start is None or end is None:
        return "TRUE"
    return f"{ident(column)} >= DATE '{start.isoformat()}' AND {ident(column)} < DATE '{end.isoformat()}'"


def batch_view_name(suite: TableSuite) -> str:
    return f"batch_{suite.schema}__{suite.name}"


def batch_view_sql(suite: TableSuite, skipped: set[str], columns: dict[str, str] | None = None) -> str:
    """``columns`` (name -> type) lets types SQLAlchemy cannot reflect (pgvector) reach GX as text,
    and binds the column-generated rules (``finite``) to the relation's numeric columns."""
    suite = suite.bind(columns or {})
    selected = ["*"] if not columns else [
        f"{ident(name)}::text AS {ident(name)}" if kind.startswith("vector") else ident(name)
        for name, kind in columns.items()
    ]
    computed = [
        f"{'NULL::text' if rule.name in skipped else rule.computed_value_sql(suite)} AS {ident(rule.computed_column)}"
        for rule in suite.rules if rule.computed_column
    ]
    where = "TRUE"
    if suite.partitioned:
        day = ident(suite.day_column)
        where = (f"{day} >= current_setting('{WINDOW_START_SETTING}')::date "
                 f"AND {day} < current_setting('{WINDOW_END_SETTING}')::date")
    return f"SELECT {', '.join([*selected, *computed])} FROM {suite.relation} WHERE {where}"  # noqa: S608 - own SQL


def ensure_batch_view(conn: psycopg.Connection, suite: TableSuite, skipped: set[str]) -> str:
    """The batch GX validates: the table (its window) plus one computed column per SQL-only rule.

    Great Expectations validates a view like a table (columns come from the catalog), while
    a query asset is run whole just to learn its columns. The window arrives as connection
    settings (``quality.window_*``), so one view serves every run; every expectation,
    computed columns included, then folds into the one aggregate query GX sends per batch.
    """
    name = batch_view_name(suite)
    columns = columns_of(conn, suite.schema, suite.name)
    body = batch_view_sql(suite, skipped, columns)
    # the fingerprint covers the rules' SQL and the table's columns (dbt may replace a mart)
    fingerprint = hashlib.sha1((body + repr(columns)).encode()).hexdigest()
    view = ident(QUALITY_SCHEMA, name)
    current = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (view,)).fetchone()
    if current and current[0] == fingerprint:
        return name
    _ddl_lock(conn)
    conn.execute(f"DROP VIEW IF EXISTS {view}")
    conn.execute(f"CREATE VIEW {view} AS {body}")
    conn.execute(f"COMMENT ON VIEW {view} IS '{fingerprint}'")
    return name
