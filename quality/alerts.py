"""Budget alerts (seed 002: a monthly budget exceeded cuts the user off): one alert per user, month
and threshold, the first time the month-to-date spend of ``marts.user_budget_status`` crosses it.

``raise_budget_alerts`` inserts the crossings it has not raised yet into ``alerts.budget_alerts``
(primary key user, month, threshold; ``ON CONFLICT DO NOTHING``), so refreshing the data again,
re-running a day or two runs at once never raise an alert twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg

from datamove.faults import fault_point

ALERTS_SCHEMA = "alerts"
BUDGET_ALERTS_TABLE = f"{ALERTS_SCHEMA}.budget_alerts"
# Shares of the monthly budget that raise an alert: a warning, then the cut-off.
THRESHOLDS = (0.8, 1.0)

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {ALERTS_SCHEMA};
CREATE TABLE IF NOT EXISTS {BUDGET_ALERTS_TABLE} (
    user_id bigint NOT NULL,
    month date NOT NULL,
    threshold numeric(4, 2) NOT NULL,
    crossed_on date NOT NULL,
    mtd_spend_usd numeric(14, 6) NOT NULL,
    monthly_budget_usd numeric(14, 6) NOT NULL,
    raised_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, month, threshold)
)"""

# The first day of the window each user crossed each threshold (a crossing before the window
# was raised by an earlier run, or is raised now if it never was: the key decides).
_RAISE = f"""
WITH crossings AS (
    SELECT DISTINCT ON (status.user_id, status.month, t.threshold)
        status.user_id, status.month, t.threshold, status.day, status.mtd_spend_usd, status.monthly_budget_usd
    FROM marts.user_budget_status AS status
    CROSS JOIN unnest(%(thresholds)s::numeric[]) AS t(threshold)
    WHERE status.day >= %(start)s AND status.day < %(end)s
        AND status.monthly_budget_usd > 0
        AND status.mtd_spend_usd >= t.threshold * status.monthly_budget_usd
    ORDER BY status.user_id, status.month, t.threshold, status.day
)
INSERT INTO {BUDGET_ALERTS_TABLE} (user_id, month, threshold, crossed_on, mtd_spend_usd, monthly_budget_usd, raised_at)
SELECT user_id, month, threshold, day, mtd_spend_usd, monthly_budget_usd, %(now)s FROM crossings
ON CONFLICT (user_id, month, threshold) DO NOTHING
RETURNING user_id, month, threshold, crossed_on, mtd_spend_usd, monthly_budget_usd
"""  # noqa: S608 - own identifiers


@dataclass(frozen=True)
class BudgetAlert:
    user_id: int
    month: date
    threshold: float
    crossed_on: date
    mtd_spend_usd: float
    monthly_budget_usd: float


def ensure_alerts_table(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('alerts.ddl'))")
    conn.execute(_DDL)


def raise_budget_alerts(conn: psycopg.Connection, start: date, end: date, now: object) -> list[BudgetAlert]:
    """Raise the crossings of days [start, end) not raised before; returns the new alerts."""
    ensure_alerts_table(conn)
    fault_point("alerts.table_ready")
    rows = conn.execute(_RAISE, {"thresholds": list(THRESHOLDS), "start": start, "end": end, "now": now}).fetchall()
    fault_point("alerts.raised")  # inserted, not committed: a crash raises them again on the re-run, once
    return [BudgetAlert(int(u), m, float(t), d, float(s), float(b)) for u, m, t, d, s, b in rows]


def open_alerts(conn: psycopg.Connection, month: date) -> list[BudgetAlert]:
    """Every alert raised for ``month``, highest threshold first."""
    ensure_alerts_table(conn)
    rows = conn.execute(
        f"SELECT user_id, month, threshold, crossed_on, mtd_spend_usd, monthly_budget_usd FROM {BUDGET_ALERTS_TABLE} "  # noqa: S608
        "WHERE month = %s ORDER BY threshold DESC, user_id", (month,)).fetchall()
    return [BudgetAlert(int(u), m, float(t), d, float(s), float(b)) for u, m, t, d, s, b in rows]
