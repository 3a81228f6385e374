"""The data-quality scorecard: seed 000's five metrics per table and day, against their targets.

For a day D every raw table is judged on the rows of its partition D (snapshot tables:
the whole table as of the run). A row counts against a metric when it broke one of the
metric's rules: in quarantine (the rules it broke are recorded) or still in raw (the same
predicates, evaluated in the database). Values are shares of good rows, 1.0 when a table
has no rows that day.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import psycopg

from datamove.faults import fault_point
from foundation.catalog import PARTITION_DATE_COLUMN
from foundation.connections import pin_clock
from quality import policy
from quality.quarantine import applicable_rules
from quality.rules import QUALITY_SCHEMA, QUARANTINE_SCHEMA, RAW_SUITES, Rule, TableSuite, ident, literal
from quality.warehouse import (
    columns_of,
    ensure_quality_objects,
    ensure_quarantine_table,
    relation_exists,
    window_filter,
)

if TYPE_CHECKING:
    from foundation.replica import ReplicaReads

log = logging.getLogger(__name__)

SCORECARD_TABLE = ident(QUALITY_SCHEMA, "scorecard")


@dataclass(frozen=True)
class Score:
    day: date
    table: str
    metric: str
    value: float
    target: float
    rows: int
    bad_rows: int

    @property
    def met(self) -> bool:
        return self.value >= self.target


def ensure_scorecard_table(conn: psycopg.Connection) -> None:
    ensure_quality_objects(conn)
    conn.execute(f"""CREATE TABLE IF NOT EXISTS {SCORECARD_TABLE} (
        day date NOT NULL, table_name text NOT NULL, metric text NOT NULL,
        value double precision NOT NULL, target double precision NOT NULL, met boolean NOT NULL,
        rows bigint NOT NULL, bad_rows bigint NOT NULL, computed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (day, table_name, metric))""")


def _metric_filter(rules: list[Rule], suite: TableSuite) -> dict[str, str]:
    """Per metric: a predicate over raw rows breaking one of its (non-window) row rules."""
    by_metric: dict[str, list[str]] = {m: [] for m in policy.METRICS}
    for rule in rules:
        if rule.row_level and not rule.windowed:
            sql = rule.violation_sql("t", suite)
            if sql:
                by_metric[rule.metric].append(f"({sql})")
    return {m: " OR ".join(p) if p else "FALSE" for m, p in by_metric.items()}


def score_table(conn: psycopg.Connection, suite: TableSuite, day: date) -> list[Score]:
    """Reads only (its quarantine table exists: ``compute_scorecard`` makes it on the primary first)."""
    if not relation_exists(conn, suite.schema, suite.name):
        return []
    suite = suite.bind(columns_of(conn, suite.schema, suite.name))
    rules, _ = applicable_rules(conn, suite)
    rules += [r for r in suite.rules if r.kind == "late_arriving"]
    where = window_filter(PARTITION_DATE_COLUMN, day, day + timedelta(days=1)) if suite.partitioned else "TRUE"
    filters = _metric_filter(rules, suite)
    duplicates = " + ".join(
        f"(count({ident(r.column)}) - count(DISTINCT {ident(r.column)}))"
        for r in suite.rules if r.kind in ("unique", "unique_latest") and len(r.columns) == 1) or "0"
    per_metric = ", ".join(f"count(*) FILTER (WHERE {filters[m]})" for m in policy.METRICS)
    raw_sql = f"SELECT count(*), {per_metric}, {duplicates} FROM {suite.relation} AS t WHERE {where}"  # noqa: S608
    raw = conn.execute(raw_sql).fetchone()
    assert raw is not None
    names = {m: [r.name for r in suite.rules if r.metric == m] for m in policy.METRICS}
    # A quarantined row records the quarantine rules it broke; a rule that never quarantines (a late
    # arrival) is judged on the row itself, so a late row quarantined for another reason stays late.
    unrecorded = _metric_filter([r for r in rules if not suite.policy_quarantines(r)], suite)
    quarantine_sql = ("SELECT count(*), " + ", ".join(  # noqa: S608 - own identifiers
        f"count(*) FILTER (WHERE _rules && ARRAY[{', '.join(literal(n) for n in names[m]) or 'NULL'}]::text[] "
        f"OR {unrecorded[m]})"
        for m in policy.METRICS) + f" FROM {ident(QUARANTINE_SCHEMA, suite.name)} AS t WHERE {where}")
    quarantined = conn.execute(quarantine_sql).fetchone()
    assert quarantined is not None
    rows = int(raw[0]) + int(quarantined[0])
    scores = []
    for i, metric in enumerate(policy.METRICS, start=1):
        bad = int(raw[i]) + int(quarantined[i]) + (int(raw[-1]) if metric == "uniqueness" else 0)
        value = 1.0 - bad / rows if rows else 1.0
        scores.append(Score(day, suite.name, metric, round(value, 6), policy.TARGETS[metric], rows, bad))
    return scores


def _read_connection(reads: ReplicaReads | None, primary: psycopg.Connection) -> AbstractContextManager[psycopg.Connection]:
    # the replica's session, once it has replayed what the primary has committed so far
    return reads.connect() if reads is not None else nullcontext(primary)


def compute_scorecard(warehouse_dsn: str, day: date, reads: ReplicaReads | None = None) -> list[Score]:
    """Score every raw table for ``day`` and replace that day in ``quality.scorecard``.

    The scores are read on ``reads`` (the replica) when given, after it has replayed the raw loads
    of the run; the tables they need are made, and the scores written, on the primary."""
    with psycopg.connect(warehouse_dsn) as conn:
        ensure_scorecard_table(conn)
        for suite in RAW_SUITES.values():
            if relation_exists(conn, suite.schema, suite.name):
                ensure_quarantine_table(conn, suite.name)
        conn.commit()
        with _read_connection(reads, conn) as read_conn:
            pin_clock(read_conn)
            scores = [s for suite in RAW_SUITES.values() for s in score_table(read_conn, suite, day)]
        fault_point("scorecard.scored")
        # the day is replaced in one transaction: a crash leaves the previous scores, never half a day
        conn.execute(f"DELETE FROM {SCORECARD_TABLE} WHERE day = %s", (day,))  # noqa: S608
        fault_point("scorecard.day_deleted")
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {SCORECARD_TABLE} (day, table_name, metric, value, target, met, rows, bad_rows) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(s.day, s.table, s.metric, s.value, s.target, s.met, s.rows, s.bad_rows) for s in scores],
            )
        fault_point("scorecard.before_commit")
    fault_point("scorecard.committed")
    return scores


def overall(scores: list[Score]) -> dict[str, float]:
    """Each metric over all tables of the day, weighted by rows."""
    result = {}
    for metric in policy.METRICS:
        picked = [s for s in scores if s.metric == metric]
        rows = sum(s.rows for s in picked)
        result[metric] = round(1.0 - sum(s.bad_rows for s in picked) / rows, 6) if rows else 1.0
    return result


def trend(warehouse_dsn: str, day: date, days: int = 14, reads: ReplicaReads | None = None
          ) -> list[tuple[date, dict[str, float]]]:
    """The row-weighted metrics of the ``days`` days up to ``day``, oldest first (on ``reads`` when given,
    once it shows the scores just written)."""
    with reads.connect() if reads is not None else psycopg.connect(warehouse_dsn) as conn:
        rows = conn.execute(
            f"SELECT day, metric, 1 - sum(bad_rows)::float8 / nullif(sum(rows), 0) FROM {SCORECARD_TABLE} "  # noqa: S608
            "WHERE day > %s AND day <= %s GROUP BY day, metric ORDER BY day",
            (day - timedelta(days=days), day),
        ).fetchall()
    by_day: dict[date, dict[str, float]] = {}
    for d, metric, value in rows:
        by_day.setdefault(d, {})[metric] = round(value if value is not None else 1.0, 6)
    return sorted(by_day.items())
