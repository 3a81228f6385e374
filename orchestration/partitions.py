"""Partition definitions shared across the graph (raw, marts and exports share the daily one)."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, MonthlyPartitionsDefinition

from orchestration.settings import load_settings

_START = load_settings().partition_start

# Daily in UTC, matching the event timestamps of the app database.
daily_partitions = DailyPartitionsDefinition(start_date=_START, timezone="UTC")
monthly_partitions = MonthlyPartitionsDefinition(start_date=_START[:8] + "01", timezone="UTC")
provisioning_request_partitions = DynamicPartitionsDefinition(name="provisioning_requests")
