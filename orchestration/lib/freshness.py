"""Freshness in Dagster's terms: a ``FreshnessPolicy`` per asset, evaluated by the daemon's freshness
daemon, so the UI's asset health shows whether each asset is on time.

Two tempos (docs/realtime.md), with the targets the quality rules use (``quality/policy.py``):

- real-time: ``tasks``, ``chat_messages``, ``llm_usage`` and the marts ``realtime_refresh_job``
  refreshes. The real-time sensor refreshes them within minutes of a change (seed 000: < 5 min) and at
  every hour's start: older than 5 minutes warns (nothing moved, or the refresh is late), older than
  an hour and 5 minutes fails (not even the hourly refresh came);
- daily: every other asset of the daily tier (raw, staging, marts, ML features, the scorecard and
  the BigQuery exports), built by the 02:00 run and the exports after it: older than 24 hours
  warns, older than 26 (the 02:00 run plus slack) fails.

Monthly archives, ML models (retrained on thresholds) and provisioned demos (on request) have none.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import AssetKey, FreshnessPolicy

from foundation.catalog import REALTIME_TABLES
from quality import policy

REALTIME_MART_NAMES = ("agent_analytics", "llm_cost_hourly", "llm_cost_breakdown", "agent_metrics_hourly",
                       "agent_metrics_daily", "user_budget_status")
REALTIME_KEYS = frozenset([
    *(AssetKey(["raw", t.name]) for t in REALTIME_TABLES),
    *(AssetKey(["marts", name]) for name in REALTIME_MART_NAMES),
    AssetKey(["alerts", "budget_alerts"]),
])
DAILY_LAYERS = frozenset({"raw", "reference", "staging", "marts", "ml_features", "quality", "exports"})

REALTIME_POLICY = FreshnessPolicy.time_window(fail_window=timedelta(hours=1) + policy.REALTIME_FRESHNESS,
                                              warn_window=policy.REALTIME_FRESHNESS)
DAILY_POLICY = FreshnessPolicy.time_window(fail_window=policy.DAILY_FRESHNESS, warn_window=timedelta(hours=24))


def freshness_policy_for(key: AssetKey) -> FreshnessPolicy | None:
    if key in REALTIME_KEYS:
        return REALTIME_POLICY
    if key.path[0] in DAILY_LAYERS:
        return DAILY_POLICY
    return None
