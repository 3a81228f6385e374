"""``realtime_refresh_job``: one day's real-time tables and the marts, checks and alerts that read
them. Both tiers write the same partitions idempotently: the daily pipeline (02:00) finalizes a
day the real-time tier refreshed intraday."""

from __future__ import annotations

from dagster import AssetKey, AssetSelection, define_asset_job

from foundation.catalog import REALTIME_TABLES
from orchestration.defs.alerts.assets import BUDGET_ALERTS_KEY
from orchestration.lib.freshness import REALTIME_MART_NAMES
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.run_tags import DBT_RUN_TAGS

# The daily marts that read tasks, chat_messages or llm_usage for the day, and the alerts raised
# from the budgets. The tables' staging views are selected too: they hold no data, but they are the
# path raw -> staging -> marts along which the job orders its steps (the marts wait for the loads).
REALTIME_MARTS = REALTIME_MART_NAMES  # orchestration/lib/freshness.py holds them to the real-time freshness
REALTIME_STAGING = ("stg_marketplace__tasks", "stg_agentgrid__chat_messages", "stg_agentgrid__llm_usage")
REALTIME_TAG = "platform/realtime"  # dagster.yaml: one real-time refresh at a time

realtime_selection = AssetSelection.assets(
    *[AssetKey(["raw", t.name]) for t in REALTIME_TABLES],
    *[AssetKey(["marts", name]) for name in REALTIME_MARTS],
    BUDGET_ALERTS_KEY,
    # the views' dbt tests scan the whole history: the daily run keeps them, a refresh need not
) | AssetSelection.assets(*[AssetKey(["staging", name]) for name in REALTIME_STAGING]).without_checks()

realtime_refresh_job = define_asset_job(
    "realtime_refresh_job",
    selection=realtime_selection,
    partitions_def=daily_partitions,
    description="Refresh a day of tasks, chat_messages and llm_usage, with their quality checks, the marts that "
    "read them (hourly and daily AgentGrid metrics, LLM cost, budgets, agent analytics) and the budget alerts.",
    tags={REALTIME_TAG: "refresh", **DBT_RUN_TAGS},
)
