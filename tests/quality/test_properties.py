"""Property-based: generated rows with random defects of every class go through the real raw load and dbt.

Each Hypothesis example is one day of ``tasks``, ``chat_messages`` and ``llm_usage`` rows, each
row clean or carrying one or more defects (non-finite numbers, impossible orders, payload shapes,
a quarantined parent, and the older classes). The rows are written to a scratch app database and
loaded by ``extract_table`` with the quarantine hook; per example:

- raw + quarantine = source for the day, by count and by checksum, table by table;
- exactly the rows carrying a defect are in quarantine;
- no number in raw is NaN or ±Infinity.

Then one dbt run builds the daily marts over every generated day (one run, not one per example:
dbt costs tens of seconds), and for every day: no mart value is non-finite, and every reconciled
mart's totals equal raw's (quality/reconcile.py). A day whose every task is bad is part of the
window: it is quarantined whole, the marts show an empty day, the blocking checks pass and the
error budget check fails as a warning.

Examples: ``pytest --property-examples N`` (default 12, the CI budget; e.g. 200 for a longer search).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datamove.extract import LoadPolicy, extract_table
from foundation.catalog import SOURCE_TABLES, SOURCE_TABLES_BY_NAME, Window
from orchestration.defs.quality.checks import evaluate_suite
from orchestration.lib.dbt_env import dbt_environment
from orchestration.lib.dbt_project import DBT_PROJECT_DIR
from quality.quarantine import quarantine_after_load
from quality.reconcile import RECONCILED_MARTS, reconcile
from quality.rules import RAW_SUITES, finite
from quality.warehouse import columns_of
from tests.simulations import Simulations, quality_profile

LOAD = LoadPolicy(after=(quarantine_after_load,))
FACTS = ("tasks", "chat_messages", "llm_usage")
BAD_AGENT = 1  # made invalid in the source: its tasks must follow it into quarantine
DAILY_MARTS = ("agent_analytics", "agent_metrics_daily", "llm_cost_breakdown", "user_budget_status",
               "customer_churn_features", "agent_performance", "customer_behavior", "revenue_metrics")

TASK_DEFECTS = ("non_finite", "impossible_order", "payload_shape", "parent_quarantined", "malformed_json",
                "negative_revenue", "rating_out_of_range", "null_required", "orphan_foreign_key", "future_timestamp")
MESSAGE_DEFECTS = ("non_finite", "payload_shape", "malformed_json", "rag_confidence_out_of_range")
USAGE_DEFECTS = ("negative_tokens",)
WRONG_TASK_PAYLOADS = ('{"channel": "web", "items": "many", "priority": "low"}', '[1, 2]', '"web"',
                       '{"channel": "fax", "items": 2, "priority": "low"}', '{"items": 1, "priority": "high"}',
                       '{"channel": "api", "items": 0, "priority": "normal"}', '{"channel": "api", "items": 2.5, '
                       '"priority": "normal"}')
WRONG_METADATA = ('{"tokens": "many", "sources": 1}', '{"sources": 2}', '{"tokens": -1, "sources": 0}', 'null')
NON_FINITE = ("NaN", "Infinity", "-Infinity")


@dataclass
class PropertyStack:
    app_dsn: str
    warehouse_dsn: str
    base: Window
    agents: list[int]
    customers: list[tuple[int, date]]  # (id, signup day): a task's customer has signed up by then
    sessions: list[int]
    users: list[int]
    next_id: Iterator[int]
    days: list[date] = field(default_factory=list)
    # what the generator wrote as clean, completed tasks: the marts must show exactly these
    clean_completed: int = 0
    clean_revenue: Decimal = Decimal(0)

    def new_day(self) -> date:
        # every example gets its own day, before the base window and two days apart
        day = self.base.start - timedelta(days=10 + 2 * len(self.days))
        self.days.append(day)
        return day


@pytest.fixture(scope="module")
def stack(simulations: Simulations) -> PropertyStack:
    # the clean history of the quality tests (simulated once per session), in databases of its own
    app_dsn, base = simulations.copy(quality_profile(0.0), "app_property").app_dsn, quality_profile(0.0).window
    warehouse_dsn = simulations.empty("wh_property")
    with psycopg.connect(app_dsn) as conn:
        conn.execute("UPDATE agents SET price = 0 WHERE id = %s", (BAD_AGENT,))
        ids = {t: [r[0] for r in conn.execute(f"SELECT id FROM {t} ORDER BY id").fetchall()]
               for t in ("agents", "chat_sessions", "platform_users")}
        customers = conn.execute("SELECT id, (signup_at AT TIME ZONE 'UTC')::date FROM customers ORDER BY id").fetchall()
    for table in SOURCE_TABLES:
        extract_table(table, app_dsn, warehouse_dsn, base if table.partitioned else None, policy=LOAD)
    counter = iter(range(50_000_000, 60_000_000))
    return PropertyStack(app_dsn, warehouse_dsn, base, [a for a in ids["agents"] if a != BAD_AGENT],
                         customers, ids["chat_sessions"], ids["platform_users"], counter)


# ---- row strategies: a clean row and the defects it carries ---------------------------------------

@st.composite
def task_rows(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    defects = draw(st.frozensets(st.sampled_from(TASK_DEFECTS), max_size=3))
    completed = draw(st.booleans())
    row: dict[str, Any] = {
        "status": "completed" if completed else "failed",
        "rating": draw(st.decimals(1, 5, places=2)) if completed else None,
        "revenue": draw(st.decimals(0, 900, places=2)) if completed else 0,
        "payload": json.dumps({"channel": draw(st.sampled_from(["web", "api", "slack", "email"])),
                               "items": draw(st.integers(1, 40)),
                               "priority": draw(st.sampled_from(["low", "normal", "high"]))}),
        "created": draw(st.integers(0, 20 * 3600)), "duration": draw(st.integers(0, 3 * 3600)),
        "agent": draw(st.integers(0, 10_000)), "customer": draw(st.integers(0, 10_000)),
    }
    # what each defect would use, drawn always; source_rows applies the defects the row carries
    row.update({"nan_column": draw(st.sampled_from(["revenue", "rating"])),  # numeric(p, s): NaN, not Infinity
                "wrong_payload": draw(st.sampled_from(WRONG_TASK_PAYLOADS)),
                "negative": -draw(st.decimals("0.01", 500, places=2)),
                "bad_rating": draw(st.sampled_from([Decimal("5.5"), Decimal("-1")]))})
    return row, defects


@st.composite
def message_rows(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    defects = draw(st.frozensets(st.sampled_from(MESSAGE_DEFECTS), max_size=2))
    assistant = draw(st.booleans()) or bool(defects & {"non_finite", "rag_confidence_out_of_range"})
    row: dict[str, Any] = {
        "role": "assistant" if assistant else "user",
        "rag_confidence": draw(st.floats(0, 1).map(lambda v: round(v, 3))) if assistant else None,
        "response_time_ms": draw(st.integers(0, 5000)) if assistant else None,
        "metadata": json.dumps({"tokens": draw(st.integers(0, 900)), "sources": draw(st.integers(0, 5))}),
        "created": draw(st.integers(0, 20 * 3600)), "session": draw(st.integers(0, 10_000)),
    }
    row.update({"non_finite_value": draw(st.sampled_from(NON_FINITE)),
                "wrong_metadata": draw(st.sampled_from(WRONG_METADATA))})
    return row, defects


@st.composite
def usage_rows(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    defects = draw(st.frozensets(st.sampled_from(USAGE_DEFECTS), max_size=1))
    provider, model = draw(st.sampled_from([("openai", "gpt-4o"), ("google", "gemini-1.5-flash"),
                                            ("anthropic", "claude-sonnet-4-5"), ("openai", "unpriced-model")]))
    row: dict[str, Any] = {
        "provider": provider, "model": model, "prompt_tokens": draw(st.integers(0, 4000)),
        "completion_tokens": draw(st.integers(0, 2000)), "latency_ms": draw(st.integers(0, 9000)),
        "status": draw(st.sampled_from(["ok", "error"])), "created": draw(st.integers(0, 20 * 3600)),
        "agent": draw(st.integers(0, 10_000) | st.none()), "user": draw(st.integers(0, 10_000) | st.none()),
    }
    row.update({"negative_column": draw(st.sampled_from(["prompt_tokens", "completion_tokens"])),
                "negative": -draw(st.integers(1, 50))})
    return row, defects


DAY_ROWS = st.fixed_dictionaries({
    "tasks": st.lists(task_rows(), max_size=6),
    "chat_messages": st.lists(message_rows(), max_size=5),
    "llm_usage": st.lists(usage_rows(), max_size=5),
})


# ---- writing a day to the source ------------------------------------------------------------------

def _at(day: date, seconds: int) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(seconds=seconds)


def _pick(options: list[int], index: int | None) -> int | None:
    return None if index is None else options[index % len(options)]


def with_defects(spec: dict[str, Any], defects: frozenset[str]) -> dict[str, Any]:
    """The row's values once its defects are applied (the timestamp and key defects: in source_rows)."""
    row = dict(spec)
    if "non_finite" in defects:
        row[row.get("nan_column", "revenue")] = "NaN"
    if "payload_shape" in defects:
        row["payload"] = row.get("wrong_payload", WRONG_TASK_PAYLOADS[0])
    if "malformed_json" in defects:
        row["payload"] = row["payload"][:7]
    if "negative_revenue" in defects:
        row["revenue"] = row.get("negative", Decimal("-1.00"))
    if "rating_out_of_range" in defects:
        row["rating"] = row.get("bad_rating", Decimal("5.5"))
    return row


def with_message_defects(spec: dict[str, Any], defects: frozenset[str]) -> dict[str, Any]:
    row = dict(spec)
    if "non_finite" in defects:
        row["rag_confidence"] = row.get("non_finite_value", "NaN")
    if "rag_confidence_out_of_range" in defects:
        row["rag_confidence"] = 1.5
    if "payload_shape" in defects:
        row["metadata"] = row.get("wrong_metadata", WRONG_METADATA[0])
    if "malformed_json" in defects:
        row["metadata"] = row["metadata"][:5]
    return row


def source_rows(stack: PropertyStack, day: date, generated: dict[str, list[Any]]
                ) -> dict[str, list[tuple[tuple[Any, ...], bool]]]:
    """The generated rows as source tuples (in catalog column order), each with whether it is bad."""
    rows: dict[str, list[tuple[tuple[Any, ...], bool]]] = {t: [] for t in FACTS}
    for clean, defects in generated["tasks"]:
        spec = with_defects(clean, defects)
        task_id = next(stack.next_id)
        created = _at(day, spec["created"])
        completed_at = created + timedelta(seconds=spec["duration"])
        agent: int | None = _pick(stack.agents, spec["agent"])
        customer: int | None = _pick([c for c, signup in stack.customers if signup <= day], spec["customer"])
        if "impossible_order" in defects:
            completed_at = created - timedelta(seconds=spec["duration"] + 60)
        updated_at = max(created, completed_at)
        if "future_timestamp" in defects:
            completed_at = updated_at = datetime(2100, 1, 1, tzinfo=UTC)
        if "parent_quarantined" in defects:
            agent = BAD_AGENT
        if "orphan_foreign_key" in defects:
            agent = 9_999_999
        if "null_required" in defects:
            customer = None
        rows["tasks"].append(((task_id, f"P-{task_id}", agent, customer, spec["status"], spec["rating"],
                               spec["revenue"], spec["payload"], created, completed_at, updated_at), bool(defects)))
        if not defects and spec["status"] == "completed":
            stack.clean_completed += 1
            stack.clean_revenue += spec["revenue"]
    for clean, defects in generated["chat_messages"]:
        spec = with_message_defects(clean, defects)
        rows["chat_messages"].append(((next(stack.next_id), _pick(stack.sessions, spec["session"]), spec["role"], 120,
                                       spec["response_time_ms"], False, spec["rag_confidence"],
                                       "full" if spec["role"] == "assistant" else None, spec["metadata"],
                                       _at(day, spec["created"])), bool(defects)))
    for clean, defects in generated["llm_usage"]:
        spec = dict(clean)
        if "negative_tokens" in defects:
            spec[spec["negative_column"]] = spec["negative"]
        rows["llm_usage"].append(((next(stack.next_id), None, None, _pick(stack.agents, spec["agent"]),
                                   _pick(stack.users, spec["user"]), "chat", None, spec["provider"], spec["model"],
                                   spec["prompt_tokens"], spec["completion_tokens"], spec["latency_ms"],
                                   spec["status"], _at(day, spec["created"])), bool(defects)))
    return rows


def write_source(stack: PropertyStack, rows: dict[str, list[tuple[tuple[Any, ...], bool]]]) -> None:
    with psycopg.connect(stack.app_dsn) as conn, conn.cursor() as cur:
        for table, table_rows in rows.items():
            columns = ", ".join(SOURCE_TABLES_BY_NAME[table].columns)
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values, _ in table_rows:
                    copy.write_row(values)


def checksum(dsn: str, relation: str, table: str, day: date, date_filter: str) -> tuple[int, int]:
    """Count and an order-free checksum of the day's rows over the source columns."""
    columns = ", ".join(SOURCE_TABLES_BY_NAME[table].columns)
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        count, total = conn.execute(
            f"SELECT count(*), coalesce(sum(('x' || substr(md5(ROW({columns})::text), 1, 15))::bit(60)::bigint), 0) "
            f"FROM {relation} WHERE {date_filter}", {"day": day}).fetchone()  # type: ignore[misc]
    return int(count), int(total)


def assert_day_loaded(stack: PropertyStack, day: date, rows: dict[str, list[tuple[tuple[Any, ...], bool]]]) -> None:
    for table in FACTS:
        column = SOURCE_TABLES_BY_NAME[table].partition_column
        source = checksum(stack.app_dsn, table, table, day,
                          f"{column} >= %(day)s::timestamptz AND {column} < %(day)s::timestamptz + interval '1 day'")
        raw = checksum(stack.warehouse_dsn, f"raw.{table}", table, day, "_partition_date = %(day)s")
        held = checksum(stack.warehouse_dsn, f"quarantine.{table}", table, day, "_partition_date = %(day)s")
        assert source[0] == raw[0] + held[0] == len(rows[table]), f"{table} {day}: counts {source} {raw} {held}"
        assert source[1] == raw[1] + held[1], f"{table} {day}: raw + quarantine differ from the source by checksum"
        with psycopg.connect(stack.warehouse_dsn) as conn:
            quarantined = {r[0] for r in conn.execute(
                f"SELECT id FROM quarantine.{table} WHERE _partition_date = %s", (day,)).fetchall()}
            finite_sql = finite().bind(columns_of(conn, "raw", table)).violation_sql(None, RAW_SUITES[table])
            non_finite = conn.execute(f"SELECT count(*) FROM raw.{table} WHERE _partition_date = %s "
                                      f"AND {finite_sql}", (day,)).fetchone()[0]  # type: ignore[index]
        bad = {values[0] for values, is_bad in rows[table] if is_bad}
        assert quarantined == bad, f"{table} {day}: quarantined {sorted(quarantined)}, defective {sorted(bad)}"
        assert non_finite == 0


def load_day(stack: PropertyStack, day: date) -> None:
    for table in FACTS:
        extract_table(SOURCE_TABLES_BY_NAME[table], stack.app_dsn, stack.warehouse_dsn,
                      Window(day, day + timedelta(days=1)), policy=LOAD)


# ---- the marts ------------------------------------------------------------------------------------

def build_daily_marts(stack: PropertyStack, start: date, end: date, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **dbt_environment(stack.warehouse_dsn), "PLATFORM_WAREHOUSE_DSN": stack.warehouse_dsn}
    dbt = Path(sys.executable).parent / "dbt"
    window = json.dumps({"min_date": start.isoformat(), "max_date": end.isoformat()})
    return subprocess.run(
        [str(dbt), "build", "--select", "+tag:daily", "--resource-type", "model", "--resource-type", "seed",
         "--vars", window, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--threads", "2"],
        env=env, capture_output=True, text=True, timeout=600, check=False)


def mart_non_finite(dsn: str, mart: str, day: date) -> int:
    with psycopg.connect(dsn) as conn:
        predicate = finite().bind(columns_of(conn, "marts", mart)).violation_sql(None, RAW_SUITES["tasks"])
        return int(conn.execute(f"SELECT count(*) FROM marts.{mart} WHERE day = %s AND {predicate}",
                                (day,)).fetchone()[0])  # type: ignore[index]


def test_generated_defects_are_quarantined_and_marts_reconcile(stack: PropertyStack, tmp_path: Path,
                                                              pytestconfig: pytest.Config) -> None:
    # a day whose every task is bad (a NaN revenue and nothing else): quarantined whole, an empty day
    # in the marts, not a failure
    all_bad = stack.new_day()
    clean_payload = '{"channel": "web", "items": 1, "priority": "low"}'
    bad_tasks = [({"status": "completed", "rating": Decimal(4), "revenue": Decimal(5), "payload": clean_payload,
                   "created": 3600 * h, "duration": 60, "agent": h, "customer": h}, frozenset({"non_finite"}))
                 for h in range(5)]
    rows = source_rows(stack, all_bad, {"tasks": bad_tasks, "chat_messages": [], "llm_usage": []})
    write_source(stack, rows)
    load_day(stack, all_bad)
    assert_day_loaded(stack, all_bad, rows)

    # every class alone at least once, whatever the example budget; the examples then combine them
    each_class = stack.new_day()
    base_task = {"status": "completed", "rating": Decimal("4.5"), "revenue": Decimal("12.50"), "payload": clean_payload,
                 "created": 7200, "duration": 600, "agent": 0, "customer": 0}
    base_message = {"role": "assistant", "rag_confidence": 0.5, "response_time_ms": 900, "created": 7200,
                    "metadata": '{"tokens": 10, "sources": 1}', "session": 0}
    generated: dict[str, list[Any]] = {
        "tasks": [({**base_task, "agent": i, "customer": i}, frozenset()) for i in range(3)]
        + [({**base_task, "wrong_payload": p}, frozenset({"payload_shape"})) for p in WRONG_TASK_PAYLOADS]
        + [(base_task, frozenset({kind})) for kind in TASK_DEFECTS if kind != "payload_shape"],
        "chat_messages": [(base_message, frozenset())]
        + [({**base_message, "non_finite_value": v}, frozenset({"non_finite"})) for v in NON_FINITE]
        + [({**base_message, "wrong_metadata": m}, frozenset({"payload_shape"})) for m in WRONG_METADATA]
        + [(base_message, frozenset({kind})) for kind in MESSAGE_DEFECTS if kind not in ("non_finite", "payload_shape")],
        "llm_usage": [({"provider": "openai", "model": "gpt-4o", "prompt_tokens": 100, "completion_tokens": 50,
                        "latency_ms": 300, "status": "ok", "created": 7200, "agent": 0, "user": 0,
                        "negative_column": "prompt_tokens", "negative": -5}, frozenset(s))
                      for s in (frozenset(), frozenset({"negative_tokens"}))],
    }
    rows = source_rows(stack, each_class, generated)
    write_source(stack, rows)
    load_day(stack, each_class)
    assert_day_loaded(stack, each_class, rows)

    @settings(max_examples=pytestconfig.getoption("property_examples"), deadline=None, database=None,
              derandomize=os.environ.get("CI") == "true",
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(generated=DAY_ROWS)
    def each_day(generated: dict[str, list[Any]]) -> None:
        day = stack.new_day()
        rows = source_rows(stack, day, generated)
        write_source(stack, rows)
        load_day(stack, day)
        assert_day_loaded(stack, day, rows)

    each_day()

    start, end = min(stack.days), max(stack.days)
    built = build_daily_marts(stack, start, end, tmp_path)
    assert built.returncode == 0, built.stdout[-3000:]
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    for mart in DAILY_MARTS:
        assert all(mart_non_finite(stack.warehouse_dsn, mart, day) == 0 for day in days), mart
    for mart in RECONCILED_MARTS:
        mismatched = [d.describe() for d in reconcile(stack.warehouse_dsn, mart, start, end + timedelta(days=1))
                      if not d.reconciled]
        assert not mismatched, mismatched

    with psycopg.connect(stack.warehouse_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM marts.agent_analytics WHERE day = %s",
                            (all_bad,)).fetchone() == (0,)
        # against the generator's own truth, not only against raw: every clean task and nothing else
        shown = conn.execute("SELECT coalesce(sum(tasks_completed), 0), coalesce(sum(total_revenue), 0) "
                             "FROM marts.agent_analytics WHERE day BETWEEN %s AND %s", (start, end)).fetchone()
    assert shown == (stack.clean_completed, stack.clean_revenue)
    assert stack.clean_completed > 0, "no clean completed task was generated: the example budget is too small"
    suite = RAW_SUITES["tasks"]
    blocking = {r.name for r in suite.rules if suite.blocking(r) and r.kind != "unique"}
    results = {r.check_name: r for r in evaluate_suite(suite, stack.warehouse_dsn, None, all_bad,
                                                       all_bad + timedelta(days=1), blocking | {"error_budget"}, None)}
    assert all(results[name].passed for name in blocking), [n for n in blocking if not results[n].passed]
    budget = results["error_budget"]
    assert not budget.passed and budget.severity.value == "WARN"
    assert budget.metadata["quarantined_rows"].value == len(bad_tasks)
