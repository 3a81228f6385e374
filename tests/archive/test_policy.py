"""Tiers and months: pure helpers."""

from __future__ import annotations

from datetime import date

import pytest

from datamove.archive.policy import newest_month_in_tier, next_month, parse_month, tier_for


def test_parse_month_accepts_cli_and_partition_keys() -> None:
    assert parse_month("2025-03") == date(2025, 3, 1)
    assert parse_month("2025-03-01") == date(2025, 3, 1)
    assert parse_month(date(2025, 3, 17)) == date(2025, 3, 1)
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month("March")


def test_a_month_is_hot_until_all_its_days_are_90_days_old() -> None:
    today = date(2026, 11, 22)  # cut-off 2026-08-24
    assert tier_for(date(2026, 8, 1), today) == "hot"
    assert tier_for(date(2026, 7, 1), today) == "warm"
    assert tier_for(date(2024, 12, 1), today) == "warm"
    assert tier_for(date(2024, 10, 1), today) == "cold"  # ended 2024-11-01, before 2024-11-22
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)


def test_newest_whole_month_of_each_tier() -> None:
    today = date(2026, 12, 1)
    warm, cold = newest_month_in_tier("warm", today), newest_month_in_tier("cold", today)
    assert (warm, cold) == (date(2026, 8, 1), date(2024, 11, 1))
    assert tier_for(warm, today) == "warm" and tier_for(next_month(warm), today) == "hot"
    assert tier_for(cold, today) == "cold" and tier_for(next_month(cold), today) == "warm"
