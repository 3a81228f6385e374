"""Every daily mart and export-shaped mart against an independent pandas computation over the raw rows
(tiny simulated history, built once by the plain dbt CLI); then the export marts through the export to
BigQuery and back, against the same references.

agent_analytics and llm_cost_breakdown are compared in test_mart_values.py; the other daily marts
(agent_metrics_daily, agent_metrics_hourly, llm_cost_hourly, user_budget_status, customer_churn_features)
and agent_performance, customer_behavior, revenue_metrics are compared here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from datamove.export import export_day
from datamove.export_specs import EXPORTS
from tests.bigquery_fixtures import BigQueryEmulator
from tests.conftest import LoadedWarehouse
from tests.marts import reference, reference_agentgrid, reference_exports
from tests.marts.conftest import DbtBuild, read_sql
from tests.marts.frames import assert_same

RAW_TABLES = ("agents", "specialties", "customers", "tasks", "trials", "llm_usage", "chat_messages",
              "chat_sessions", "platform_users", "user_budgets")
RATIO, MONEY, CENTS = 1e-4, 1e-6, 0.0051  # rounded to 4, 6 and 2 places (half up)


@pytest.fixture(scope="module")
def raw(warehouse_dsn: str, built_marts: DbtBuild) -> dict[str, pd.DataFrame]:
    assert built_marts.returncode == 0, built_marts.output[-4000:]
    return {name: read_sql(warehouse_dsn, f"select * from raw.{name}") for name in RAW_TABLES}  # noqa: S608


@pytest.fixture(scope="module")
def expected(raw: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Every reference, computed once for the module."""
    clean = reference_exports.marketplace(raw)
    analytics = reference.agent_analytics(clean["tasks"])  # type: ignore[arg-type]
    daily = reference_agentgrid.agent_metrics_daily(raw["chat_messages"], raw["chat_sessions"], raw["llm_usage"])
    features = reference_exports.customer_churn_features(clean["tasks"], clean["customers"],  # type: ignore[arg-type]
                                                         clean["trials"])  # type: ignore[arg-type]
    return {
        "agent_metrics_daily": daily,
        "agent_metrics_hourly": reference_agentgrid.agent_metrics_hourly(raw["chat_messages"], raw["chat_sessions"],
                                                                         raw["llm_usage"]),
        "llm_cost_hourly": reference_agentgrid.llm_cost_hourly(raw["llm_usage"]),
        "user_budget_status": reference_agentgrid.user_budget_status(raw["llm_usage"], raw["platform_users"],
                                                                     raw["user_budgets"]),
        "customer_churn_features": features,
        "agent_performance": reference_exports.agent_performance(analytics, daily, clean["agents"]),  # type: ignore[arg-type]
        "customer_behavior": reference_exports.customer_behavior(features, clean["tasks"],  # type: ignore[arg-type]
                                                                 clean["customers"]),  # type: ignore[arg-type]
        "revenue_metrics": reference_exports.revenue_metrics(analytics, clean["agents"], raw["llm_usage"]),  # type: ignore[arg-type]
    }


# What each mart is keyed by and how its columns compare (exact counts, rounded ratios, costs).
CONTRACTS: dict[str, dict[str, Any]] = {
    "agent_metrics_daily": {
        "keys": ["day", "agent_id"],
        "exact": ["total_chats", "total_messages", "unique_users", "total_tokens"],
        "close": {"messages_per_chat": RATIO, "avg_response_time_ms": CENTS, "p95_response_time_ms": CENTS,
                  "error_rate": RATIO, "avg_rag_confidence": RATIO, "context_coverage_full_share": RATIO,
                  "context_coverage_partial_share": RATIO, "context_coverage_none_share": RATIO,
                  "total_cost_usd": MONEY, "cost_per_message_usd": MONEY}},
    "agent_metrics_hourly": {
        "keys": ["day", "hour", "agent_id"],
        "exact": ["chats", "total_messages", "unique_users", "assistant_messages", "error_messages",
                  "response_time_count", "response_time_sum_ms", "rag_confidence_count", "llm_calls", "total_tokens"],
        "close": {"error_rate": RATIO, "avg_response_time_ms": CENTS, "p50_response_time_ms": CENTS,
                  "p95_response_time_ms": CENTS, "rag_confidence_sum": 1e-6, "avg_rag_confidence": RATIO,
                  "total_cost_usd": 1e-8}},
    "llm_cost_hourly": {
        "keys": ["day", "hour", "provider", "model", "agent_id", "agent_name"],
        "exact": ["calls", "failed_calls", "prompt_tokens", "completion_tokens", "total_tokens", "latency_ms_sum",
                  "latency_ms_count", "is_priced"],
        "close": {"total_cost_usd": 1e-8}},
    "user_budget_status": {
        "keys": ["day", "user_id"],
        "exact": ["over_budget"],
        "close": {"monthly_budget_usd": CENTS, "day_spend_usd": MONEY, "mtd_spend_usd": MONEY,
                  "budget_remaining_usd": MONEY, "budget_used_share": RATIO}},
    "customer_churn_features": {
        "keys": ["day", "customer_id"],
        "exact": ["tasks_last_7d", "days_inactive", "tenure_days", "trial_outcome"],
        "close": {"avg_rating_last_7d": RATIO}},
    "agent_performance": {
        "keys": ["day", "agent_id"],
        "exact": ["tasks_completed", "total_chats", "total_messages"],
        "close": {"avg_rating": RATIO, "total_revenue": CENTS, "efficiency_score": RATIO, "revenue_per_task": RATIO,
                  "avg_response_time_ms": CENTS, "error_rate": RATIO, "llm_cost_usd": MONEY}},
    "customer_behavior": {
        "keys": ["day", "customer_id"],
        "exact": ["tasks_created", "tasks_completed", "tasks_last_7d", "days_inactive", "tenure_days"],
        "close": {"revenue": CENTS, "avg_rating_last_7d": RATIO}},
    "revenue_metrics": {
        "keys": ["day", "industry"],
        "exact": ["tasks_completed", "active_agents"],
        "close": {"total_revenue": CENTS, "revenue_per_task": RATIO, "llm_cost_usd": MONEY,
                  "gross_margin_usd": CENTS}},
}
TEXT_COLUMNS = {"agent_performance": ("agent_name", "industry"), "customer_behavior": ("industry", "customer_status")}


@pytest.mark.parametrize("mart", sorted(CONTRACTS))
def test_mart_matches_its_independent_reference(mart: str, expected: dict[str, Any], warehouse_dsn: str) -> None:
    contract = CONTRACTS[mart]
    actual = read_sql(warehouse_dsn, f"select * from marts.{mart}")  # noqa: S608
    assert_same(mart, expected[mart], actual, contract["keys"], contract["exact"], contract["close"])
    for column in TEXT_COLUMNS.get(mart, ()):
        merged = expected[mart].merge(actual, on=contract["keys"], suffixes=("_ref", "_mart"))
        assert (merged[f"{column}_ref"].fillna("") == merged[f"{column}_mart"].fillna("")).all(), column
    if "hour_complete" in actual:  # the history ends before today: every hour had ended when it was built
        assert actual.hour_complete.all()


def test_the_export_marts_reach_bigquery_as_the_reference_computes_them(
        expected: dict[str, Any], warehouse: LoadedWarehouse, warehouse_dsn: str, bigquery: BigQueryEmulator) -> None:
    """End to end: the dbt-built export marts, each day exported by the platform's export (reading as the
    read-only role, as in production) and read back from BigQuery, equal the independent references."""
    client = bigquery.client()
    dataset = bigquery.new_dataset_id("e2e").split(".")[-1]
    # the last three days every export mart has rows for
    days = sorted(set.intersection(*(set(read_sql(warehouse_dsn, f"select distinct day from marts.{name}").day)  # noqa: S608
                                     for name in EXPORTS)))[-3:]
    assert len(days) == 3
    for name, spec in EXPORTS.items():
        for day in days:
            result = export_day(spec, read_dsn=warehouse.settings.replica_dsn, client=client, dataset=dataset, day=day,
                                source_schema="marts")
            assert result.rows > 0 and result.mart_checksum == result.bigquery_checksum, (name, day)
        columns = ", ".join(f.name for f in spec.schema)
        rows = client.query(f"SELECT {columns} FROM `{bigquery.project}.{dataset}.{name}` "
                            f"WHERE day IN UNNEST(@days)", job_config=_days_parameter(days)).result()
        back = pd.DataFrame([dict(row.items()) for row in rows])
        reference_rows = expected[name][expected[name].day.isin(days)]
        contract = CONTRACTS[name]
        assert_same(f"bigquery {name}", reference_rows, back, contract["keys"], contract["exact"], contract["close"])


def _days_parameter(days: list[Any]) -> Any:
    from google.cloud import bigquery as bq

    return bq.QueryJobConfig(query_parameters=[bq.ArrayQueryParameter("days", "DATE", days)])
