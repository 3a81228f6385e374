"""Quarantine: rows of a raw window that break row-level rules move to ``quarantine.<table>``.

``quarantine_after_load`` is an ``after`` step of the raw load's policy (composed in
``orchestration/defs/raw/assets.py``) and runs inside the raw load's transaction, right after
the COPY: the window of the quarantine table is cleared, then one statement flags the
window's rows in a single pass, deletes the bad ones from raw and inserts them (with the rules they broke) into
quarantine. Re-running a partition therefore replaces its quarantine exactly, and
raw + quarantine always equals the source by count (checked before commit).

``release`` moves rows back after a fix: it re-validates them against today's rules
and only moves those that now pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import psycopg

from datamove.faults import fault_point
from foundation.catalog import (
    EXTRACTED_AT_COLUMN,
    PARTITION_DATE_COLUMN,
    RAW_SCHEMA,
    SOURCE_TABLES_BY_NAME,
    SourceTable,
    Window,
)
from foundation.connections import CLOCK_SQL, pin_clock
from quality.rules import QUARANTINE_SCHEMA, RAW_SUITES, Rule, TableSuite, ident, literal
from quality.warehouse import (
    columns_of,
    ensure_quality_objects,
    ensure_quarantine_table,
    missing_references,
    relation_exists,
    window_filter,
)

log = logging.getLogger(__name__)


class QuarantineReconciliationError(RuntimeError):
    """raw + quarantine no longer add up to the rows loaded from the source."""


@dataclass
class QuarantineResult:
    table: str
    loaded_rows: int
    raw_rows: int
    quarantined_rows: int
    by_rule: dict[str, int] = field(default_factory=dict)
    skipped_rules: dict[str, str] = field(default_factory=dict)


def _rules_array(rules: list[Rule], suite: TableSuite, alias: str) -> str:
    cases = [f"CASE WHEN {r.violation_sql(alias, suite)} THEN {literal(r.name)} END" for r in rules]
    return f"array_remove(ARRAY[{', '.join(cases)}]::text[], NULL)" if cases else "ARRAY[]::text[]"


def applicable_rules(conn: psycopg.Connection, suite: TableSuite) -> tuple[list[Rule], dict[str, str]]:
    """Quarantine rules that can run now, and why the others cannot (a referenced table not loaded)."""
    rules, skipped = [], {}
    for rule in suite.quarantine_rules():
        missing = missing_references(conn, rule)
        if missing:
            skipped[rule.name] = f"raw.{missing} is not loaded yet"
        else:
            rules.append(rule)
    return rules, skipped


def quarantine_window(conn: psycopg.Connection, table: str, start: date | None, end: date | None
                      ) -> QuarantineResult:
    """Re-apply the quarantine rules to a window of ``raw.<table>`` (inside the caller's transaction)."""
    ensure_quality_objects(conn)
    pin_clock(conn)
    columns = ensure_quarantine_table(conn, table)
    suite = RAW_SUITES[table].bind(columns_of(conn, RAW_SCHEMA, table))
    rules, skipped = applicable_rules(conn, suite)
    raw, quarantine = ident(RAW_SCHEMA, table), ident(QUARANTINE_SCHEMA, table)
    where = window_filter(PARTITION_DATE_COLUMN, start, end) if suite.partitioned else "TRUE"
    column_list = ", ".join(ident(c) for c in columns)

    conn.execute(f"DELETE FROM {quarantine} WHERE {where}")  # noqa: S608 - own identifiers
    fault_point("quarantine.window_cleared")
    loaded = int(conn.execute(f"SELECT count(*) FROM {raw} WHERE {where}").fetchone()[0])  # type: ignore[index]  # noqa: S608
    if rules:
        conn.execute(f"""
            WITH flagged AS (
                SELECT row_ctid, rules FROM (
                    SELECT t.ctid AS row_ctid, {_rules_array(rules, suite, 't')} AS rules
                    FROM {raw} AS t WHERE {where}
                ) AS judged
                WHERE cardinality(rules) > 0
            ), moved AS (
                DELETE FROM {raw} AS t USING flagged
                WHERE t.ctid = flagged.row_ctid
                RETURNING t.*, flagged.rules
            )
            INSERT INTO {quarantine} ({column_list}, _rules)
            SELECT {column_list}, rules FROM moved
        """)  # noqa: S608 - own identifiers and predicates
        fault_point("quarantine.moved")
    raw_rows = int(conn.execute(f"SELECT count(*) FROM {raw} WHERE {where}").fetchone()[0])  # type: ignore[index]  # noqa: S608
    by_rule: dict[str, int] = dict(conn.execute(
        f"SELECT rule, count(*) FROM {quarantine}, unnest(_rules) AS rule WHERE {where} GROUP BY rule ORDER BY rule"  # noqa: S608
    ).fetchall())
    quarantined = int(conn.execute(f"SELECT count(*) FROM {quarantine} WHERE {where}").fetchone()[0])  # type: ignore[index]  # noqa: S608
    if raw_rows + quarantined != loaded:
        raise QuarantineReconciliationError(
            f"raw.{table} {where}: {raw_rows} raw + {quarantined} quarantined != {loaded} loaded; rolled back")
    return QuarantineResult(table, loaded, raw_rows, quarantined, by_rule, skipped)


def children_of(parent: str) -> list[tuple[str, Rule]]:
    """(child table, its parent_quarantined rule) for every table whose rows refer to ``parent``."""
    return [(name, rule) for name, suite in RAW_SUITES.items() for rule in suite.rules
            if rule.kind == "parent_quarantined" and rule.params["ref_table"] == parent]


def cascade_parent_quarantine(conn: psycopg.Connection, parent: str) -> tuple[dict[str, int], dict[str, int]]:
    """Make the children in raw follow their parents (inside the caller's transaction).

    A child row loaded before its parent went to quarantine is moved to quarantine with the
    reason ``<column>_parent_quarantined``; a child held only for a parent that is back in raw is
    released (re-validated against every rule first). Grandchildren follow in turn. Returns
    (rows moved to quarantine, rows released) per child table."""
    moved: dict[str, int] = {}
    released: dict[str, int] = {}
    for child, rule in children_of(parent):
        if not relation_exists(conn, RAW_SCHEMA, child) or missing_references(conn, rule):
            continue
        # the child's load lock, as its own load and a release take it: parent before child, always
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{RAW_SCHEMA}.{child}",))
        columns = ", ".join(ident(c) for c in ensure_quarantine_table(conn, child))
        count = conn.execute(f"""
            WITH moved AS (
                DELETE FROM {ident(RAW_SCHEMA, child)} AS t WHERE {rule.violation_sql('t', RAW_SUITES[child])}
                RETURNING t.*
            )
            INSERT INTO {ident(QUARANTINE_SCHEMA, child)} ({columns}, _rules)
            SELECT {columns}, ARRAY[{literal(rule.name)}]::text[] FROM moved
        """).rowcount  # noqa: S608 - own identifiers and predicates
        back = release(conn, child, rule=rule.name).released
        if count:
            moved[child] = moved.get(child, 0) + count
            log.warning("raw/%s: %d rows follow their quarantined %s rows into quarantine (%s)",
                        child, count, parent, rule.name)
        if back:
            released[child] = released.get(child, 0) + back
        if count or back:
            deeper_moved, deeper_released = cascade_parent_quarantine(conn, child)
            for target, source in ((moved, deeper_moved), (released, deeper_released)):
                for name, rows in source.items():
                    target[name] = target.get(name, 0) + rows
    return moved, released


def quarantine_after_load(conn: psycopg.Connection, table: SourceTable, window: Window | None) -> dict[str, object]:
    """The raw layer's after-load hook: quarantine the window, let children follow, return metadata."""
    if table.name not in RAW_SUITES:
        return {}
    start, end = (window.start, window.end) if window is not None else (None, None)
    result = quarantine_window(conn, table.name, start, end)
    cascaded, released = cascade_parent_quarantine(conn, table.name)
    fault_point("quarantine.cascaded")
    if result.quarantined_rows:
        log.warning("raw/%s: %d of %d rows quarantined %s", table.name, result.quarantined_rows,
                    result.loaded_rows, result.by_rule)
    metadata: dict[str, object] = {
        "raw_rows_after_quarantine": result.raw_rows,
        "quarantined_rows": result.quarantined_rows,
        "quarantine_by_rule": result.by_rule,
        "quarantine_table": f"warehouse.{QUARANTINE_SCHEMA}.{table.name}",
        "raw_plus_quarantine_reconciled": result.raw_rows + result.quarantined_rows == result.loaded_rows,
    }
    if result.skipped_rules:
        metadata["quarantine_rules_skipped"] = result.skipped_rules
    if cascaded:
        metadata["children_quarantined_with_parent"] = cascaded
    if released:
        metadata["children_released_with_parent"] = released
    if window is None or (window.end - window.start).days == 1:
        metadata["dagster/row_count"] = result.raw_rows
    return metadata


def quarantine_counts(warehouse_dsn: str, suite: TableSuite, start: date | None, end: date | None
                      ) -> tuple[int, int, dict[str, int]]:
    """(raw rows, quarantined rows, quarantined rows per rule) of the window."""
    if suite.schema != RAW_SCHEMA:
        return 0, 0, {}
    where = window_filter(PARTITION_DATE_COLUMN, start, end)
    with psycopg.connect(warehouse_dsn) as conn:
        raw = int(conn.execute(f"SELECT count(*) FROM {suite.relation} WHERE {where}").fetchone()[0])  # type: ignore[index]  # noqa: S608
        if not relation_exists(conn, QUARANTINE_SCHEMA, suite.name):
            return raw, 0, {}
        quarantine = ident(QUARANTINE_SCHEMA, suite.name)
        total = int(conn.execute(f"SELECT count(*) FROM {quarantine} WHERE {where}").fetchone()[0])  # type: ignore[index]  # noqa: S608
        by_rule: dict[str, int] = dict(conn.execute(
            f"SELECT rule, count(*) FROM {quarantine}, unnest(_rules) AS rule WHERE {where} GROUP BY rule"  # noqa: S608
        ).fetchall())
    return raw, total, {k: int(v) for k, v in by_rule.items()}


# ---- list and release ------------------------------------------------------------------------------

@dataclass
class ReleaseResult:
    table: str
    released: int
    still_failing: dict[str, int] = field(default_factory=dict)


def _release_rules(suite: TableSuite) -> list[Rule]:
    return [r for r in suite.quarantine_rules() if not r.windowed]


def _still_duplicate(suite: TableSuite, alias: str) -> list[tuple[str, str]]:
    """Natural keys already present in raw: releasing the row would create the duplicate again."""
    return [(r.name, f"EXISTS (SELECT 1 FROM {suite.relation} AS r WHERE r.{ident(r.column)} = {alias}.{ident(r.column)})")  # noqa: S608
            for r in suite.quarantine_rules() if r.windowed]


def release(conn: psycopg.Connection, table: str, rule: str | None = None, ids: list[str] | None = None
            ) -> ReleaseResult:
    """Move quarantined rows back to raw when they pass every rule now (inside the caller's transaction)."""
    suite = RAW_SUITES[table]
    if rule is not None:
        suite.rule(rule)  # a typo must not release nothing silently
    ensure_quality_objects(conn)
    pin_clock(conn)
    if not relation_exists(conn, QUARANTINE_SCHEMA, table):
        return ReleaseResult(table, 0)
    # the same lock as the raw load: a release never interleaves with a reload of the table
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{RAW_SCHEMA}.{table}",))
    columns = ensure_quarantine_table(conn, table)
    suite = suite.bind(columns_of(conn, RAW_SCHEMA, table))
    rules, _ = applicable_rules(conn, suite)
    checks = [(r.name, r.violation_sql("q", suite)) for r in rules if not r.windowed] + _still_duplicate(suite, "q")
    still = ("array_remove(ARRAY[" + ", ".join(f"CASE WHEN {sql} THEN {literal(name)} END" for name, sql in checks)
             + "]::text[], NULL)") if checks else "ARRAY[]::text[]"
    filters = ["TRUE"]
    params: list[object] = []
    if rule is not None:
        filters.append("%s = ANY(q._rules)")
        params.append(rule)
    if ids:
        key = SOURCE_TABLES_BY_NAME[table].primary_key
        filters.append(f"q.{ident(key)}::text = ANY(%s)")
        params.append([str(i) for i in ids])
    column_list = ", ".join(ident(c) for c in columns if c != EXTRACTED_AT_COLUMN)
    quarantine, raw = ident(QUARANTINE_SCHEMA, table), ident(RAW_SCHEMA, table)
    conn.execute(f"CREATE TEMP TABLE _release ON COMMIT DROP AS SELECT q.ctid AS row_ctid, {still} AS still "  # noqa: S608
                 f"FROM {quarantine} AS q WHERE {' AND '.join(filters)}", params)
    moved = conn.execute(f"""
        WITH moved AS (
            DELETE FROM {quarantine} AS q USING _release
            WHERE q.ctid = _release.row_ctid AND cardinality(_release.still) = 0
            RETURNING q.*
        )
        INSERT INTO {raw} ({column_list}, {ident(EXTRACTED_AT_COLUMN)})
        SELECT {column_list}, {CLOCK_SQL} FROM moved
    """).rowcount  # noqa: S608 - own identifiers
    # rows that still fail keep their place, with the rules they break today
    conn.execute(f"UPDATE {quarantine} AS q SET _rules = _release.still FROM _release "  # noqa: S608
                 "WHERE q.ctid = _release.row_ctid AND cardinality(_release.still) > 0")
    failing: dict[str, int] = dict(conn.execute(
        "SELECT rule, count(*) FROM _release, unnest(still) AS rule GROUP BY rule ORDER BY rule").fetchall())
    conn.execute("DROP TABLE _release")
    log.info("released %d rows of quarantine.%s back to raw; still failing: %s", moved, table, failing)
    return ReleaseResult(table, moved, failing)


def quarantine_summary(conn: psycopg.Connection, table: str | None = None) -> list[tuple[str, object, str, int]]:
    """(table, partition day, rule, rows) for every quarantined row group."""
    tables = [table] if table else [t for t in RAW_SUITES if relation_exists(conn, QUARANTINE_SCHEMA, t)]
    rows: list[tuple[str, object, str, int]] = []
    for name in tables:
        if not relation_exists(conn, QUARANTINE_SCHEMA, name):
            continue
        for day, rule, count in conn.execute(
            f"SELECT {ident(PARTITION_DATE_COLUMN)}, rule, count(*) FROM {ident(QUARANTINE_SCHEMA, name)}, "  # noqa: S608
            f"unnest(_rules) AS rule GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall():
            rows.append((name, day, rule, int(count)))
    return rows
