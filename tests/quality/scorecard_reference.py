"""The scorecard's five metrics for ``tasks`` on one day, computed independently with pandas.

Read from the app database (the source), not from raw or quarantine, and restated from the rules as
docs/quality.md describes them, without the platform's SQL: a row counts against a metric when it
broke one of the metric's rules; a value is the share of good rows. Dimension rows the quality layer
quarantines take their tasks with them (``parent_quarantined``, consistency).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import jsonschema
import pandas as pd
import psycopg

INDUSTRIES = {"marketing", "education", "sales"}
TASK_STATUSES = {"completed", "failed", "in_progress", "cancelled"}
FUTURE_SKEW = timedelta(minutes=5)
LATE_GRACE = timedelta(days=1)
TASK_PAYLOAD = {  # what the marketplace app writes into tasks.payload
    "type": "object", "required": ["channel", "items", "priority"],
    "properties": {"channel": {"type": "string", "enum": ["web", "api", "slack", "email"]},
                   "items": {"type": "integer", "minimum": 1},
                   "priority": {"type": "string", "enum": ["low", "normal", "high"]}},
}


@dataclass(frozen=True)
class MetricCount:
    rows: int
    bad: int

    @property
    def value(self) -> float:
        return round(1.0 - self.bad / self.rows, 6) if self.rows else 1.0


def _frame(dsn: str, query: str, *params: Any) -> pd.DataFrame:
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn, conn.cursor() as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description or []])


def _non_finite(frame: pd.DataFrame, *columns: str) -> pd.Series:
    bad = pd.Series(False, index=frame.index)
    for column in columns:
        bad |= frame[column].map(lambda v: v is not None and not math.isfinite(float(v)))
    return bad


def _out_of(frame: pd.DataFrame, column: str, low: float | None, high: float | None) -> pd.Series:
    """PostgreSQL's comparisons: NULL breaks nothing, NaN sorts above every number."""
    def broken(value: Any) -> bool:
        if value is None:
            return False
        number = float(value)
        if math.isnan(number):
            return high is not None
        return (low is not None and number < low) or (high is not None and number > high)
    return frame[column].map(broken)


def _after(frame: pd.DataFrame, column: str, limit: datetime) -> pd.Series:
    return frame[column].notna() & (frame[column] > limit)


def _before(frame: pd.DataFrame, later: str, earlier: str) -> pd.Series:
    return frame[later].notna() & frame[earlier].notna() & (frame[later] < frame[earlier])


def _null(frame: pd.DataFrame, *columns: str) -> pd.Series:
    return frame[list(columns)].isna().any(axis=1)


def good_specialty_ids(specialties: pd.DataFrame) -> set[int]:
    bad = _null(specialties, "name", "industry") | ~specialties.industry.isin(INDUSTRIES) & specialties.industry.notna()
    return set(specialties.id[~bad])


def good_agent_ids(agents: pd.DataFrame, specialty_ids: set[int], now: datetime) -> set[int]:
    limit = now + FUTURE_SKEW
    bad = (_null(agents, "name", "specialty_id", "industry", "price", "status")
           | (agents.industry.notna() & ~agents.industry.isin(INDUSTRIES))
           | _out_of(agents, "price", 5000, 50000) | _out_of(agents, "rating", 0, 5)
           | (agents.specialty_id.notna() & ~agents.specialty_id.isin(specialty_ids))
           | _after(agents, "created_at", limit) | _after(agents, "updated_at", limit)
           | _before(agents, "updated_at", "created_at") | _non_finite(agents, "price", "rating"))
    return set(agents.id[~bad])


def good_customer_ids(customers: pd.DataFrame, now: datetime) -> set[int]:
    limit = now + FUTURE_SKEW
    bad = (_null(customers, "name", "email", "status")
           | _after(customers, "created_at", limit) | _after(customers, "signup_at", limit)
           | _before(customers, "updated_at", "created_at") | _before(customers, "last_login_at", "signup_at"))
    return set(customers.id[~bad])


def _payload_broken(payload: Any) -> tuple[bool, bool]:
    """(malformed JSON, JSON of the wrong shape)."""
    if payload is None:
        return False, False
    try:
        document = json.loads(payload)
    except ValueError:
        return True, False
    return False, not jsonschema.Draft202012Validator(TASK_PAYLOAD).is_valid(document)


def task_metrics(app_dsn: str, day: date, now: datetime) -> dict[str, MetricCount]:
    """The five metrics of the ``tasks`` rows created on ``day`` (UTC), judged at ``now``."""
    start = datetime.combine(day, datetime.min.time()).replace(tzinfo=now.tzinfo)
    tasks = _frame(app_dsn, "SELECT * FROM tasks WHERE created_at >= %s AND created_at < %s",
                   start, start + timedelta(days=1))
    specialties = good_specialty_ids(_frame(app_dsn, "SELECT * FROM specialties"))
    agents = good_agent_ids(_frame(app_dsn, "SELECT * FROM agents"), specialties, now)
    customers = good_customer_ids(_frame(app_dsn, "SELECT * FROM customers"), now)
    limit = now + FUTURE_SKEW
    payload = tasks.payload.map(_payload_broken)

    completeness = _null(tasks, "task_ref", "agent_id", "customer_id", "status")
    accuracy = (_out_of(tasks, "rating", 0, 5) | _out_of(tasks, "revenue", 0, None)
                | (tasks.status.notna() & ~tasks.status.isin(TASK_STATUSES))
                | _after(tasks, "created_at", limit) | _after(tasks, "completed_at", limit)
                | _after(tasks, "updated_at", limit) | payload.map(lambda p: p[0] or p[1])
                | _non_finite(tasks, "rating", "revenue"))
    # an agent or customer that is missing or quarantined breaks the reference
    consistency = ((tasks.agent_id.notna() & ~tasks.agent_id.isin(agents))
                   | (tasks.customer_id.notna() & ~tasks.customer_id.isin(customers))
                   | _before(tasks, "completed_at", "created_at") | _before(tasks, "updated_at", "created_at")
                   | _before(tasks, "updated_at", "completed_at"))
    timeliness = tasks.updated_at.notna() & (tasks.updated_at >= start + timedelta(days=1) + LATE_GRACE)
    # a re-sent task_ref: every version but the latest (updated_at, then id) is a duplicate
    ranked = tasks[tasks.task_ref.notna()].sort_values(["updated_at", "id"], ascending=False)
    superseded = ranked.duplicated("task_ref", keep="first").reindex(tasks.index, fill_value=False)
    uniqueness = superseded | tasks.duplicated("id", keep="first")
    rows = len(tasks)
    return {metric: MetricCount(rows, int(mask.sum())) for metric, mask in (
        ("completeness", completeness), ("accuracy", accuracy), ("consistency", consistency),
        ("timeliness", timeliness), ("uniqueness", uniqueness))}
