"""Extract a source table (or a window of its daily partitions) into ``raw.<table>``.

The data path never touches Python rows: ``psql`` streams ``COPY … TO STDOUT
(FORMAT binary)`` from the app database and the warehouse connection ingests the
same bytes with ``COPY … FROM STDIN`` in large chunks. The source side runs in a
REPEATABLE READ snapshot exported from the connection that counts the rows, so the
count and the copied rows are the same set even while the app keeps writing.

On the warehouse side one transaction deletes the window, copies it in, and checks
the loaded count against the source count before committing: a re-run replaces the
window exactly, and a failure leaves nothing half-written.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from datamove.faults import fault_point
from foundation.catalog import (
    EXTRACTED_AT_COLUMN,
    PARTITION_DATE_COLUMN,
    RAW_SCHEMA,
    SourceTable,
    Window,
)
from foundation.connections import (
    CLOCK_OR_SERVER_SQL,
    CLOCK_SETTING,
    client_environment,
    connect,
    pg_bin_dir,
    pin_clock,
)

log = logging.getLogger(__name__)

_PIPE_CHUNK = 1 << 20
# When a row was extracted, on the platform's clock (the load pins it on its session).
EXTRACTED_AT_DEFAULT = sql.SQL(CLOCK_OR_SERVER_SQL)


class SchemaDriftError(RuntimeError):
    """The source table no longer matches the raw layer's column contract."""


class ReconciliationError(RuntimeError):
    """Loaded rows differ from the source rows of the same snapshot."""


@dataclass
class ExtractResult:
    table: str
    window: Window | None
    source_rows: int
    loaded_rows: int
    bytes: int
    seconds: float
    ignored_columns: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.loaded_rows / self.seconds if self.seconds else 0.0


# Steps around a load, on the warehouse connection inside the load's transaction (which holds the
# raw table's lock): a "before" step may refuse the window before anything is written; an "after"
# step runs once the COPY is in (the quarantine) and returns metadata for the result.
BeforeLoad = Callable[[psycopg.Connection, SourceTable, Window | None], None]
AfterLoad = Callable[[psycopg.Connection, SourceTable, Window | None], dict[str, object]]


@dataclass(frozen=True)
class LoadPolicy:
    """What a raw load runs besides the copy, in order. The caller composes it (the raw assets
    do, in one visible place); the engine knows no quality rule or archive."""

    before: tuple[BeforeLoad, ...] = ()
    after: tuple[AfterLoad, ...] = ()


def source_column_types(conn: psycopg.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (f"public.{table}",),
    ).fetchall()
    return dict(rows)


def check_contract(table: SourceTable, actual: dict[str, str]) -> list[str]:
    """Fail on a missing/renamed column; return source columns the contract does not know (ignored)."""
    if not actual:
        raise SchemaDriftError(f"source table app.public.{table.name} does not exist (raw/{table.name})")
    missing = [c for c in table.columns if c not in actual]
    if missing:
        unknown = [c for c in actual if c not in table.columns]
        hint = f"; the source has unexpected column(s) {unknown} (renamed?)" if unknown else ""
        raise SchemaDriftError(
            f"source table app.public.{table.name} is missing column(s) {missing} "
            f"expected by raw/{table.name}{hint}"
        )
    return [c for c in actual if c not in table.columns]


def _ensure_raw_table(conn: psycopg.Connection, table: SourceTable, types: dict[str, str]) -> None:
    target = sql.Identifier(RAW_SCHEMA, table.name)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RAW_SCHEMA)))
    existing: dict[str, str] = dict(
        conn.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
               WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped""",
            (f"{RAW_SCHEMA}.{table.name}",),
        ).fetchall()
    )
    if not existing:
        columns = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in table.columns]
        columns.append(sql.SQL("{} date").format(sql.Identifier(PARTITION_DATE_COLUMN)))
        columns.append(sql.SQL("{} timestamptz NOT NULL DEFAULT {}").format(
            sql.Identifier(EXTRACTED_AT_COLUMN), EXTRACTED_AT_DEFAULT))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(columns)))
        _ensure_indexes(conn, table)
        return
    _ensure_indexes(conn, table)
    _ensure_extracted_at_default(conn, table)
    for column in table.columns:
        if column not in existing:
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                target, sql.Identifier(column), sql.SQL(types[column])))
        elif existing[column] != types[column]:
            raise SchemaDriftError(
                f"column {table.name}.{column} changed type in the source: {existing[column]} in "
                f"raw.{table.name}, {types[column]} in app.public.{table.name}"
            )


def _ensure_extracted_at_default(conn: psycopg.Connection, table: SourceTable) -> None:
    """Tables made before the platform had one clock stamped the server's ``now()``."""
    row = conn.execute(
        "SELECT column_default FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "AND column_name = %s", (RAW_SCHEMA, table.name, EXTRACTED_AT_COLUMN)).fetchone()
    if row is not None and CLOCK_SETTING not in str(row[0]):
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
            sql.Identifier(RAW_SCHEMA, table.name), sql.Identifier(EXTRACTED_AT_COLUMN), EXTRACTED_AT_DEFAULT))


def _ensure_indexes(conn: psycopg.Connection, table: SourceTable) -> None:
    """Windows are replaced by partition date; staging deduplicates by the natural key."""
    target = sql.Identifier(RAW_SCHEMA, table.name)
    for column in (PARTITION_DATE_COLUMN, table.primary_key, table.natural_key):
        if column:
            conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{table.name}_{column.strip('_')}_idx"), target, sql.Identifier(column)))


def _window_filter(table: SourceTable, window: Window | None) -> sql.Composable:
    if window is None or table.partition_column is None:
        return sql.SQL("TRUE")
    return sql.SQL("{col} >= {start}::timestamptz AND {col} < {end}::timestamptz").format(
        col=sql.Identifier(table.partition_column),
        start=sql.Literal(f"{window.start.isoformat()} 00:00:00+00"),
        end=sql.Literal(f"{window.end.isoformat()} 00:00:00+00"),
    )


def _partition_date_expression(table: SourceTable) -> sql.Composable:
    if table.partition_column is None:
        return sql.SQL("NULL::date")
    return sql.SQL("({} AT TIME ZONE 'UTC')::date").format(sql.Identifier(table.partition_column))


def _target_filter(table: SourceTable, window: Window | None) -> sql.Composable:
    if window is None or table.partition_column is None:
        return sql.SQL("TRUE")
    return sql.SQL("{col} >= {start} AND {col} < {end}").format(
        col=sql.Identifier(PARTITION_DATE_COLUMN), start=sql.Literal(window.start), end=sql.Literal(window.end)
    )


def extract_table(
    table: SourceTable,
    app_dsn: str,
    warehouse_dsn: str,
    window: Window | None = None,
    policy: LoadPolicy | None = None,
) -> ExtractResult:
    """Replace ``window`` of ``raw.<table>`` with the source rows, reconciled by count."""
    started = time.perf_counter()
    policy = policy or LoadPolicy()
    columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
    source_filter = _window_filter(table, window)

    with connect(app_dsn) as source:
        source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        types = source_column_types(source, table.name)
        ignored = check_contract(table, types)
        snapshot = source.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        count_query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
            sql.Identifier("public", table.name), source_filter)
        source_rows = int(source.execute(count_query).fetchone()[0])  # type: ignore[index]
        copy_out = sql.SQL("COPY (SELECT {}, {} FROM {} WHERE {}) TO STDOUT (FORMAT binary)").format(
            columns, _partition_date_expression(table), sql.Identifier("public", table.name), source_filter
        ).as_string(source)

        with connect(warehouse_dsn) as target:
            # One load per table at a time: two concurrent re-runs must not both insert.
            target.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{RAW_SCHEMA}.{table.name}",))
            pin_clock(target)
            for step in policy.before:
                step(target, table, window)
            _ensure_raw_table(target, table, types)
            raw = sql.Identifier(RAW_SCHEMA, table.name)
            target_filter = _target_filter(table, window)
            target.execute(sql.SQL("DELETE FROM {} WHERE {}").format(raw, target_filter))
            fault_point("extract.window_deleted")
            copy_in = sql.SQL("COPY {} ({}, {}) FROM STDIN (FORMAT binary)").format(
                raw, columns, sql.Identifier(PARTITION_DATE_COLUMN))
            # The window was emptied in this transaction, so the rows COPY reports are all it holds.
            transferred, loaded_rows = _pipe(app_dsn, snapshot, copy_out, target, copy_in)
            fault_point("extract.copied")
            if loaded_rows != source_rows:
                raise ReconciliationError(
                    f"raw/{table.name} {_describe(window)}: loaded {loaded_rows} rows but the source has "
                    f"{source_rows}; rolled back"
                )
            extra: dict[str, object] = {}
            for after in policy.after:
                extra.update(after(target, table, window))
            fault_point("extract.before_commit")
        fault_point("extract.committed")
        source.rollback()

    seconds = time.perf_counter() - started
    result = ExtractResult(table.name, window, source_rows, loaded_rows, transferred, seconds, ignored, extra)
    log.info("raw/%s %s: %d rows, %.1f MB in %.2fs (%.0f rows/s)", table.name, _describe(window), loaded_rows,
             transferred / 1e6, seconds, result.rows_per_second)
    return result


def _pipe(app_dsn: str, snapshot: str, copy_out: str, target: psycopg.Connection,
          copy_in: sql.Composed) -> tuple[int, int]:
    """Stream psql's binary COPY output into the target COPY; returns (bytes moved, rows loaded)."""
    conninfo, env = client_environment(app_dsn)
    command = [
        str(pg_bin_dir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
        "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "-c", f"SET TRANSACTION SNAPSHOT '{snapshot}'",
        "-c", copy_out,
    ]
    moved = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as psql:
        assert psql.stdout is not None and psql.stderr is not None
        try:
            with target.cursor() as cur:
                with cur.copy(copy_in) as copy:
                    while chunk := psql.stdout.read(_PIPE_CHUNK):
                        copy.write(chunk)
                        moved += len(chunk)
                        fault_point("extract.chunk_written")  # psql still streaming, the COPY half done
                rows = cur.rowcount
        except Exception:
            psql.kill()
            raise
        stderr = psql.stderr.read().decode(errors="replace").strip()
        if psql.wait() != 0:
            raise RuntimeError(f"source COPY failed: {stderr}")
    return moved, rows


def _describe(window: Window | None) -> str:
    if window is None:
        return "snapshot"
    return f"[{window.start.isoformat()}, {window.end.isoformat()})"
