"""Marts reconciled to raw (seed 000's "accuracy"): a daily mart's totals for a day against the
same totals computed from raw for that day.

Raw holds what the quality policy let through (quarantined rows, including the children of a
quarantined parent, are not in raw), so a mart that dropped or invented a row, doubled a join,
or summed a NaN no longer matches. Counts and token sums must be equal; money may differ by the
marts' per-row rounding (``policy.RECONCILIATION_ROUNDING_PER_ROW`` per mart row).

Each ``MartTotals`` is a pair of queries returning the same measures in the same order: one over
the mart's rows of the day, one written independently over raw (the marts' SQL is dbt's; this is
the second opinion). ``%(day)s`` is the day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from quality import policy
from quality.rules import MARTS_SCHEMA, ident
from quality.warehouse import relation_exists

# The dbt var task_completion_lookback_days (dbt_project.yml): a task completed on a day counts
# when it was created at most this many days before (tests hold the two equal).
TASK_COMPLETION_LOOKBACK_DAYS = 60
# dbt's seed of LLM prices (schema "reference").
PRICING = ident("reference", "llm_pricing")

_DAY_START = "(%(day)s::date)::timestamp AT TIME ZONE 'UTC'"
_DAY_END = "(%(day)s::date + 1)::timestamp AT TIME ZONE 'UTC'"
_COMPLETED_ON_DAY = (f"status = 'completed' AND completed_at >= {_DAY_START} AND completed_at < {_DAY_END} "
                     f"AND _partition_date BETWEEN %(day)s::date - {TASK_COMPLETION_LOOKBACK_DAYS} AND %(day)s")
_LLM_COST = ("u.prompt_tokens::numeric / 1000 * p.prompt_usd_per_1k "
             "+ u.completion_tokens::numeric / 1000 * p.completion_usd_per_1k")
_PRICED_USAGE = (f"raw.llm_usage AS u LEFT JOIN {PRICING} AS p "
                 "ON p.provider = lower(trim(u.provider)) AND p.model = lower(trim(u.model))")
_CUSTOMERS_BY_DAY = "SELECT count(*) FROM raw.customers WHERE (signup_at AT TIME ZONE 'UTC')::date <= %(day)s"


class MartNotBuiltError(RuntimeError):
    """A mart (or the raw table its totals come from) does not exist yet."""


@dataclass(frozen=True)
class MartTotals:
    mart: str
    measures: tuple[str, ...]
    mart_sql: str  # one row: the measures over marts.<mart> WHERE day = %(day)s
    raw_sql: str  # one row: the same measures from raw for %(day)s
    money: frozenset[str] = frozenset()  # compared within the rounding tolerance
    raw_tables: tuple[str, ...] = ()


def _mart_sums(mart: str, *expressions: str) -> str:
    sums = ", ".join(f"coalesce(sum({e}), 0)" if e != "count(*)" else e for e in expressions)
    return f"SELECT {sums} FROM {ident(MARTS_SCHEMA, mart)} WHERE day = %(day)s"  # noqa: S608 - own identifiers


_TASK_REVENUE = f"SELECT count(*), coalesce(sum(revenue), 0) FROM raw.tasks WHERE {_COMPLETED_ON_DAY}"  # noqa: S608

RECONCILED_MARTS: dict[str, MartTotals] = {t.mart: t for t in (
    MartTotals(
        "agent_analytics", ("rows", "tasks_completed", "total_revenue"),
        _mart_sums("agent_analytics", "count(*)", "tasks_completed", "total_revenue"),
        f"SELECT count(DISTINCT agent_id), count(*), coalesce(sum(revenue), 0) FROM raw.tasks "  # noqa: S608
        f"WHERE {_COMPLETED_ON_DAY}",
        raw_tables=("tasks",)),
    MartTotals(
        "llm_cost_breakdown", ("calls", "prompt_tokens", "completion_tokens", "total_cost_usd"),
        _mart_sums("llm_cost_breakdown", "calls", "prompt_tokens", "completion_tokens", "total_cost_usd"),
        f"SELECT count(*), coalesce(sum(u.prompt_tokens), 0), coalesce(sum(u.completion_tokens), 0), "  # noqa: S608
        f"coalesce(sum({_LLM_COST}), 0) FROM {_PRICED_USAGE} WHERE u._partition_date = %(day)s",
        money=frozenset({"total_cost_usd"}), raw_tables=("llm_usage",)),
    MartTotals(
        "agent_metrics_daily", ("total_messages", "total_tokens", "total_cost_usd"),
        _mart_sums("agent_metrics_daily", "total_messages", "total_tokens", "total_cost_usd"),
        # an agent's LLM cost of the day sits on its row of the day, which exists when it has messages
        "WITH chatting AS (SELECT DISTINCT s.agent_id FROM raw.chat_messages AS m "  # noqa: S608
        "JOIN raw.chat_sessions AS s ON s.id = m.session_id WHERE m._partition_date = %(day)s) "
        "SELECT (SELECT count(*) FROM raw.chat_messages WHERE _partition_date = %(day)s), "
        "coalesce(sum(u.prompt_tokens + u.completion_tokens), 0), "
        f"coalesce(sum({_LLM_COST}), 0) FROM {_PRICED_USAGE} "
        "WHERE u._partition_date = %(day)s AND u.agent_id IN (SELECT agent_id FROM chatting)",
        money=frozenset({"total_cost_usd"}), raw_tables=("chat_messages", "chat_sessions", "llm_usage")),
    MartTotals(
        "user_budget_status", ("rows", "day_spend_usd"),
        _mart_sums("user_budget_status", "count(*)", "day_spend_usd"),
        "SELECT (SELECT count(*) FROM raw.platform_users), "  # noqa: S608
        f"coalesce(sum({_LLM_COST}), 0) FROM {_PRICED_USAGE} "
        "WHERE u._partition_date = %(day)s AND u.user_id IS NOT NULL",
        money=frozenset({"day_spend_usd"}), raw_tables=("platform_users", "llm_usage")),
    MartTotals(
        "customer_churn_features", ("rows", "tasks_last_7d"),
        _mart_sums("customer_churn_features", "count(*)", "tasks_last_7d"),
        f"SELECT ({_CUSTOMERS_BY_DAY}), count(*) FROM raw.tasks "  # noqa: S608
        "WHERE _partition_date BETWEEN %(day)s::date - 6 AND %(day)s",
        raw_tables=("customers", "tasks")),
    # the export-shaped marts: what BigQuery receives
    MartTotals(
        "revenue_metrics", ("tasks_completed", "total_revenue"),
        _mart_sums("revenue_metrics", "tasks_completed", "total_revenue"), _TASK_REVENUE, raw_tables=("tasks",)),
    MartTotals(
        "agent_performance", ("tasks_completed", "total_revenue", "total_messages"),
        _mart_sums("agent_performance", "tasks_completed", "total_revenue", "total_messages"),
        f"SELECT count(*), coalesce(sum(revenue), 0), (SELECT count(*) FROM raw.chat_messages "  # noqa: S608
        f"WHERE _partition_date = %(day)s) FROM raw.tasks WHERE {_COMPLETED_ON_DAY}",
        raw_tables=("tasks", "chat_messages")),
    MartTotals(
        "customer_behavior", ("rows", "tasks_created", "revenue"),
        _mart_sums("customer_behavior", "count(*)", "tasks_created", "revenue"),
        f"SELECT ({_CUSTOMERS_BY_DAY}), count(*), "  # noqa: S608
        "coalesce(sum(revenue) FILTER (WHERE status = 'completed'), 0) FROM raw.tasks WHERE _partition_date = %(day)s",
        raw_tables=("customers", "tasks")),
)}


@dataclass(frozen=True)
class Difference:
    measure: str
    mart_value: Decimal
    raw_value: Decimal
    tolerance: Decimal

    @property
    def difference(self) -> Decimal:
        return self.mart_value - self.raw_value


@dataclass
class DayReconciliation:
    mart: str
    day: date
    mart_rows: int
    values: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # measure -> (mart, raw)
    mismatches: list[Difference] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return not self.mismatches

    def describe(self) -> str:
        """What a person reads when the check fails: mart, day and every difference."""
        if self.reconciled:
            return f"{MARTS_SCHEMA}.{self.mart} {self.day}: reconciled with raw ({', '.join(self.values)})"
        return f"{MARTS_SCHEMA}.{self.mart} {self.day}: " + "; ".join(
            f"{d.measure} is {d.mart_value} in the mart and {d.raw_value} in raw (difference {d.difference:+})"
            for d in self.mismatches)


def _decimal(value: object) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def reconcile_day(conn: psycopg.Connection, totals: MartTotals, day: date) -> DayReconciliation:
    params = {"day": day}
    mart_row = conn.execute(totals.mart_sql, params).fetchone()
    raw_row = conn.execute(totals.raw_sql, params).fetchone()
    assert mart_row is not None and raw_row is not None
    mart_rows = int(conn.execute(  # type: ignore[index]
        f"SELECT count(*) FROM {ident(MARTS_SCHEMA, totals.mart)} WHERE day = %(day)s", params  # noqa: S608
    ).fetchone()[0])
    result = DayReconciliation(totals.mart, day, mart_rows)
    for name, mart_value, raw_value in zip(totals.measures, mart_row, raw_row, strict=True):
        mart_d, raw_d = _decimal(mart_value), _decimal(raw_value)
        result.values[name] = (mart_d, raw_d)
        tolerance = (Decimal(str(policy.RECONCILIATION_ROUNDING_PER_ROW)) * max(mart_rows, 1)
                     if name in totals.money else Decimal(0))
        # NaN never equals anything (Decimal('NaN') comparisons are false): a NaN total is a mismatch
        if not (mart_d.is_finite() and raw_d.is_finite() and abs(mart_d - raw_d) <= tolerance):
            result.mismatches.append(Difference(name, mart_d, raw_d, tolerance))
    return result


def reconcile(warehouse_dsn: str, mart: str, start: date, end: date) -> list[DayReconciliation]:
    """Every day of [start, end) of ``mart`` against raw, in one snapshot of the warehouse."""
    totals = RECONCILED_MARTS[mart]
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for schema, name in [(MARTS_SCHEMA, mart), *[("raw", t) for t in totals.raw_tables]]:
            if not relation_exists(conn, schema, name):
                raise MartNotBuiltError(f"{schema}.{name} does not exist yet: {MARTS_SCHEMA}.{mart} cannot be "
                                        "reconciled with raw")
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        return [reconcile_day(conn, totals, day) for day in days]
