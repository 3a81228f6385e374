"""Partition definitions shared across the graph (raw, marts and exports share the daily one).

They end where the platform's clock says today is (``settings.today()``): the last daily
partition is today itself, which the real-time tier refreshes intraday and the 02:00 daily
run finalizes once it has ended. With ``PLATFORM_TODAY`` pinned, the same holds for the
pinned day, in the past or in the future of the real clock alike.

They start with the data: ``PLATFORM_PARTITION_START``, by default the history's first day
(``PLATFORM_DAYS`` + 30 days before today, what ``make demo`` simulates), so the UI counts the
days the platform holds, not years before them. A code location computes it when it loads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, MonthlyPartitionsDefinition

from foundation.settings import clock_offset_days, load_settings, today

_START = load_settings().partition_start


def _months_ahead() -> int:
    pinned, real = today(), datetime.now(UTC).date()
    return (pinned.year * 12 + pinned.month) - (real.year * 12 + real.month)


# Daily in UTC, matching the event timestamps of the app database.
daily_partitions = DailyPartitionsDefinition(start_date=_START, timezone="UTC", end_offset=clock_offset_days() + 1)
monthly_partitions = MonthlyPartitionsDefinition(start_date=_START[:8] + "01", timezone="UTC",
                                                 end_offset=_months_ahead())
provisioning_request_partitions = DynamicPartitionsDefinition(name="provisioning_requests")


def previous_day(tick: datetime) -> date:
    """The day a schedule tick at ``tick`` finalizes: the platform's yesterday."""
    return today(tick) - timedelta(days=1)
