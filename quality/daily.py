"""Each day's outcome of a suite validated over a window of days, in one pass.

A range run (a backfill of many days as one run) validates its window once with Great
Expectations: one aggregate query, one Data Docs page. What a person checks, though, is a
day: ``split_by_day`` reads the same batch view once more, grouped by its day column, and
counts each rule's violations per day with the rule's own SQL (the computed column of the
batch view, or the predicate quarantine uses), so no rule is written twice.

A day never reads better than the window: a rule GX failed over the window with no single
failing day (duplicates across days, an error) fails on every day, saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import psycopg

from foundation.connections import connect
from foundation.settings import now as platform_now
from quality import policy
from quality.rules import QUALITY_SCHEMA, QUARANTINE_SCHEMA, RAW_SCHEMA, Rule, TableSuite, ident
from quality.validation import RuleOutcome, SuiteValidation, _sample_options
from quality.warehouse import batch_view_name, relation_exists, window_filter

log = logging.getLogger(__name__)


@dataclass
class DayOutcome:
    """One rule on one day: passed, and the counts behind it."""

    passed: bool
    element_count: int
    unexpected_count: int | None = None
    observed: dict[str, object] = field(default_factory=dict)
    note: str | None = None

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected_count is None or not self.element_count:
            return None
        return round(100.0 * self.unexpected_count / self.element_count, 6)


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _violation_count_sql(rule: Rule, suite: TableSuite) -> str | None:
    """How many rows of a group break ``rule`` (None: the rule is not counted row by row)."""
    if rule.computed_column:
        return f"count(*) FILTER (WHERE {ident(rule.computed_column)} IS NOT NULL)"
    if rule.kind in ("unique", "unique_latest"):
        columns = ", ".join(ident(c) for c in rule.columns)
        distinct = f"count(DISTINCT ({columns}))" if len(rule.columns) > 1 else f"count(DISTINCT {columns})"
        present = " AND ".join(f"{ident(c)} IS NOT NULL" for c in rule.columns)
        return f"(count(*) FILTER (WHERE {present}) - {distinct})"
    if rule.row_level and not rule.windowed and rule.columns:
        return f"count(*) FILTER (WHERE {rule.violation_sql(None, suite)})"
    return None


def _source_latest_by_day(app_dsn: str, suite: TableSuite, start: date, end: date) -> dict[date, datetime]:
    column = ident(suite.partition_column or "")
    with connect(app_dsn, attempts=2) as conn:
        rows = conn.execute(
            f"SELECT ({column} AT TIME ZONE 'UTC')::date, max({column}) FROM {ident('public', suite.name)} "  # noqa: S608
            f"WHERE {column} >= %s::timestamptz AND {column} < %s::timestamptz GROUP BY 1",
            (f"{start.isoformat()} 00:00:00+00", f"{end.isoformat()} 00:00:00+00")).fetchall()
    return {day: latest for day, latest in rows}


def split_by_day(validation: SuiteValidation, warehouse_dsn: str, rule_names: Iterable[str],
                 app_dsn: str | None = None) -> dict[date, dict[str, DayOutcome]]:
    """Every day of the validation's window, each selected rule's outcome on that day."""
    suite, start, end = validation.suite, validation.start, validation.end
    if not suite.partitioned or start is None or end is None:
        raise ValueError(f"{suite.suite_name}: only a partitioned window splits into days")
    rules = [suite.rule(name) for name in rule_names]
    counted = {r.name: sql for r in rules if r.name not in _skipped(validation)
               for sql in [_violation_count_sql(r, suite)] if sql is not None}
    day = ident(suite.day_column)
    freshness = next((r for r in rules if r.kind == "freshness"), None)
    selects = [f"{day}", "count(*)", *counted.values()]
    if freshness is not None:
        selects.append(f"max({ident(freshness.column)})")
    options = _sample_options(start, end, platform_now())  # the window and the clock, as the view reads them
    with psycopg.connect(warehouse_dsn, options=options) as conn:
        view = ident(QUALITY_SCHEMA, batch_view_name(suite))
        rows = conn.execute(f"SELECT {', '.join(selects)} FROM {view} GROUP BY 1").fetchall()  # noqa: S608
    quarantined = {day: loaded.quarantined_rows for day, loaded in loaded_by_day(
        warehouse_dsn, suite.name, start, end, suite.day_column).items()} \
        if any(r.kind == "error_budget" for r in rules) and suite.schema == RAW_SCHEMA else {}
    by_day = {row[0]: row for row in rows}
    latest_source = _source_latest_by_day(app_dsn, suite, start, end) \
        if freshness is not None and app_dsn and suite.schema == RAW_SCHEMA else {}

    result: dict[date, dict[str, DayOutcome]] = {}
    for current in days_of(start, end):
        row = by_day.get(current)
        rows_today = int(row[1]) if row else 0
        outcomes: dict[str, DayOutcome] = {}
        for index, name in enumerate(counted, start=2):
            violations = int(row[index]) if row else 0
            outcomes[name] = DayOutcome(violations == 0, rows_today, violations)
        for rule in rules:
            if rule.name in outcomes:
                continue
            window_outcome = validation.outcomes.get(rule.name)
            if rule.kind == "error_budget":
                held = quarantined.get(current, 0)
                share = held / (rows_today + held) if rows_today + held else 0.0
                outcomes[rule.name] = DayOutcome(share <= policy.MAX_VALIDATION_ERROR_RATE, rows_today, held,
                                                 {"quarantined_share": round(share, 6)})
            elif rule.kind == "freshness" and freshness is not None:
                outcomes[rule.name] = _freshness(suite, row[-1] if row else None, latest_source.get(current),
                                                 rows_today)
            elif window_outcome is not None:  # a rule without per-row SQL: the window's outcome stands
                outcomes[rule.name] = DayOutcome(window_outcome.success, rows_today,
                                                 note=window_outcome.skipped or "judged over the whole window")
            else:
                outcomes[rule.name] = DayOutcome(True, rows_today, note="not evaluated")
        result[current] = outcomes
    _never_better_than_the_window(result, validation.outcomes)
    return result


def _skipped(validation: SuiteValidation) -> set[str]:
    return {name for name, outcome in validation.outcomes.items() if outcome.skipped}


def _freshness(suite: TableSuite, loaded_latest: datetime | None, source_latest: datetime | None,
               rows: int) -> DayOutcome:
    target = policy.REALTIME_FRESHNESS if suite.name in policy.REALTIME_TABLES else policy.DAILY_FRESHNESS
    if source_latest is None:
        return DayOutcome(True, rows, note="no source activity that day")
    passed = loaded_latest is not None and loaded_latest >= source_latest - target
    return DayOutcome(passed, rows, observed={"loaded_latest": loaded_latest.isoformat() if loaded_latest else None,
                                              "source_latest": source_latest.isoformat(),
                                              "target_seconds": target.total_seconds()})


def _never_better_than_the_window(days: Mapping[date, dict[str, DayOutcome]],
                                  window: Mapping[str, RuleOutcome]) -> None:
    """A rule GX failed over the window fails somewhere: where no day fails on its own, on every day."""
    for name, outcome in window.items():
        if outcome.success or outcome.skipped:
            continue
        if any(not per_rule[name].passed for per_rule in days.values() if name in per_rule):
            continue
        reason = outcome.error or "failed over the window; no single day fails on its own"
        for per_rule in days.values():
            if name in per_rule:
                per_rule[name].passed = False
                per_rule[name].note = reason


@dataclass(frozen=True)
class LoadedDay:
    """One day of a raw table after its load: the rows in raw, those held in quarantine, their size."""

    raw_rows: int
    quarantined_rows: int
    bytes: int

    @property
    def loaded_rows(self) -> int:
        return self.raw_rows + self.quarantined_rows


def loaded_by_day(warehouse_dsn: str, table: str, start: date, end: date, day_column: str) -> dict[date, LoadedDay]:
    """Every day of [start, end) of ``raw.<table>`` (days without rows included, as zeros)."""
    where = window_filter(day_column, start, end)
    with psycopg.connect(warehouse_dsn) as conn:
        raw = {day: (int(rows), int(size)) for day, rows, size in conn.execute(
            f"SELECT {ident(day_column)}, count(*), coalesce(sum(pg_column_size(t.*)), 0) "  # noqa: S608
            f"FROM {ident(RAW_SCHEMA, table)} AS t WHERE {where} GROUP BY 1").fetchall()}
        held: dict[date, int] = {}
        if relation_exists(conn, QUARANTINE_SCHEMA, table):
            held = {day: int(rows) for day, rows in conn.execute(
                f"SELECT {ident(day_column)}, count(*) FROM {ident(QUARANTINE_SCHEMA, table)} "  # noqa: S608
                f"WHERE {where} GROUP BY 1").fetchall()}
    return {day: LoadedDay(raw.get(day, (0, 0))[0], held.get(day, 0), raw.get(day, (0, 0))[1])
            for day in days_of(start, end)}
