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

from foundation.settings import clock_offset_days, load_settings, pinned_clock, today

_START = load_settings().partition_start


def _months_ahead() -> int:
    pinned, real = today(), datetime.now(UTC).date()
    return (pinned.year * 12 + pinned.month) - (real.year * 12 + real.month)


def _pinned_ends() -> tuple[str | None, str | None]:
    """With the clock pinned to today or a future day, where the daily and monthly partitions end
    (exclusive), as dates.

    The offsets below are counted from the real clock when the code loads; a process that runs
    past midnight would otherwise gain the real clock's next day while the pinned day stays.
    Dagster ends a definition at the earlier of its end date and its offset, so the offsets
    still bring a pinned future day into range and the end dates keep it there. Not for a day in
    the past: beside a negative offset, Dagster's oldest-first pages of partition keys (the UI's
    partition lists) stop short of the end date, or are empty. A pinned past day keeps the offset
    alone and gains a day at each real midnight, as before (README, ``PLATFORM_TODAY``).
    Dagster's newest-first pages follow the offset alone from the second real midnight on.
    """
    if pinned_clock() is None or clock_offset_days() < 0:
        return None, None
    day = today()
    return (day + timedelta(days=1)).isoformat(), day.replace(day=1).isoformat()


def time_partitions(start: str) -> tuple[DailyPartitionsDefinition, MonthlyPartitionsDefinition]:
    """The daily and monthly partitions from ``start`` to the platform's today, as the clock is now."""
    daily_end, monthly_end = _pinned_ends()
    # Daily in UTC, matching the event timestamps of the app database.
    daily = DailyPartitionsDefinition(start_date=start, end_date=daily_end, timezone="UTC",
                                      end_offset=clock_offset_days() + 1)
    monthly = MonthlyPartitionsDefinition(start_date=start[:8] + "01", end_date=monthly_end, timezone="UTC",
                                          end_offset=_months_ahead())
    return daily, monthly


daily_partitions, monthly_partitions = time_partitions(_START)
provisioning_request_partitions = DynamicPartitionsDefinition(name="provisioning_requests")


def previous_day(tick: datetime) -> date:
    """The day a schedule tick at ``tick`` finalizes: the platform's yesterday."""
    return today(tick) - timedelta(days=1)
