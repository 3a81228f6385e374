"""Which raw tables are archived, and which tier a month belongs to on a given day.

- hot: PostgreSQL (``raw.<table>``) while any day of the month is within the table's hot window
  (90 days; ``chat_sessions`` 180 days: ``foundation/retention.py``);
- warm: Parquet (zstd) once the whole month is older than that;
- cold: Parquet with stronger compression once the whole month is older than 2 years.

A month moves as a whole, so a row stays hot for 90 to ~120 days; "older" is judged on
the raw layer's ``_partition_date`` (the UTC day of the row's event timestamp).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from foundation.retention import ARCHIVE_HOT_DAYS, COLD_DAYS, RAW_HOT_DAYS
from foundation.settings import today as platform_today

HOT_DAYS = RAW_HOT_DAYS  # the default hot window; a table may keep its rows hot longer

WARM_ZSTD_LEVEL = 1  # Arrow's default: warm months are still queried, so write speed matters
COLD_ZSTD_LEVEL = 19

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01)?$")


@dataclass(frozen=True)
class ArchivedTable:
    """A raw table whose old months leave PostgreSQL for Parquet."""

    name: str
    checksum_column: str  # an exact numeric column whose SUM is compared at every step (never a float)
    id_column: str = "id"  # SUM(id) is compared too: it changes when any row is missing or doubled
    hot_days: int = HOT_DAYS
    cold_days: int = COLD_DAYS

    def tier(self, month: date, today: date | None = None) -> str:
        return tier_for(month, today, self.hot_days, self.cold_days)


ARCHIVED_TABLES: dict[str, ArchivedTable] = {
    t.name: t
    for t in (
        ArchivedTable("tasks", checksum_column="revenue"),
        ArchivedTable("chat_messages", checksum_column="response_time_ms"),
        ArchivedTable("llm_usage", checksum_column="prompt_tokens"),
        # the telemetry streams (seed 001's archival by retention policy); their float columns are not
        # exact across PostgreSQL and Arrow sums, so an integer column is the checksum
        ArchivedTable("agent_actions", checksum_column="agent_id"),
        ArchivedTable("signature_metrics", checksum_column="iterations"),
        ArchivedTable("verifier_metrics", checksum_column="checks_performed"),
        ArchivedTable("training_metrics", checksum_column="epoch"),
        ArchivedTable("chat_sessions", checksum_column="agent_id", hot_days=ARCHIVE_HOT_DAYS["chat_sessions"]),
    )
}


def archived_table(name: str) -> ArchivedTable:
    try:
        return ARCHIVED_TABLES[name]
    except KeyError:
        raise ValueError(f"{name!r} is not archived; archived tables: {', '.join(ARCHIVED_TABLES)}") from None


def parse_month(value: str | date) -> date:
    """``2025-03``, ``2025-03-01`` (a Dagster monthly partition key) or a date → first day of the month."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH.match(value.strip())
    if not match:
        raise ValueError(f"month {value!r} is not YYYY-MM")
    return date(int(match.group(1)), int(match.group(2)), 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def tier_for(month: date, today: date | None = None, hot_days: int = HOT_DAYS, cold_days: int = COLD_DAYS) -> str:
    """``hot``, ``warm`` or ``cold`` for the whole month on ``today`` (UTC)."""
    today = today or platform_today()
    end = next_month(month)  # exclusive
    if end > today - timedelta(days=hot_days):
        return "hot"
    if end > today - timedelta(days=cold_days):
        return "warm"
    return "cold"


def newest_month_in_tier(tier: str, today: date | None = None, hot_days: int = HOT_DAYS,
                         cold_days: int = COLD_DAYS) -> date:
    """The most recent month that is entirely in ``tier`` (warm or cold) on ``today``."""
    today = today or platform_today()
    days = hot_days if tier == "warm" else cold_days
    month = parse_month(today - timedelta(days=days))
    # the month containing the cut-off day is partly younger: the one before is the newest whole one
    return parse_month(month - timedelta(days=1))
