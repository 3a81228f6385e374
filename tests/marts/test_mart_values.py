"""Marts against an independent pandas computation over the raw rows (tiny simulated history)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.marts import reference
from tests.marts.conftest import DbtBuild, read_sql


@pytest.fixture(scope="module")
def raw(warehouse_dsn: str, built_marts: DbtBuild) -> dict[str, pd.DataFrame]:
    tables = ("agents", "specialties", "customers", "tasks", "trials", "llm_usage", "experiment_assignments")
    return {name: read_sql(warehouse_dsn, f"select * from raw.{name}") for name in tables}  # noqa: S608


@pytest.fixture(scope="module")
def clean(raw: dict[str, pd.DataFrame]) -> dict[str, Any]:
    agents = reference.valid_agents(raw["agents"], raw["specialties"])
    customer_ids = reference.valid_customer_ids(raw["customers"])
    tasks = reference.valid_tasks(raw["tasks"], set(agents.id), customer_ids)
    return {"agents": agents, "customer_ids": customer_ids, "tasks": tasks}


def test_dbt_build_from_the_plain_cli_passes(built_marts: DbtBuild) -> None:
    assert built_marts.returncode == 0, built_marts.output[-4000:]
    assert "ERROR=0" in built_marts.output


def test_staging_drops_the_planted_defects(raw: dict[str, pd.DataFrame], clean: dict[str, Any],
                                           warehouse_dsn: str) -> None:
    staged = read_sql(warehouse_dsn, "select task_ref, payload_is_valid_json from staging.stg_marketplace__tasks")
    assert staged.task_ref.is_unique
    assert len(staged) == len(clean["tasks"])
    # the planted defects (and the tasks of quarantined agents) were quarantined upstream: staging,
    # whose filters the quality rules now cover, has nothing left to drop silently
    assert len(staged) == raw["tasks"].task_ref.nunique()
    # the quality layer quarantines malformed payloads; any that reach staging are nulled and flagged
    malformed = {ref for ref, payload in zip(clean["tasks"].task_ref, clean["tasks"].payload, strict=True)
                 if not _is_json(payload)}
    assert set(staged.task_ref[~staged.payload_is_valid_json]) == malformed


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def test_agent_analytics_matches_pandas(clean: dict[str, Any], warehouse_dsn: str) -> None:
    expected = reference.agent_analytics(clean["tasks"])
    actual = read_sql(warehouse_dsn, "select * from marts.agent_analytics")
    merged = expected.merge(actual, on=["day", "agent_id"], how="outer", suffixes=("_pd", "_dbt"), indicator=True)
    assert (merged._merge == "both").all(), merged[merged._merge != "both"]
    assert (merged.tasks_completed_pd == merged.tasks_completed_dbt).all()
    for column in ("avg_rating", "total_revenue", "efficiency_score", "revenue_per_task"):
        np.testing.assert_allclose(merged[f"{column}_dbt"].astype(float), merged[f"{column}_pd"], atol=1e-3,
                                   err_msg=column)


def test_agent_leaderboard_matches_pandas(raw: dict[str, pd.DataFrame], clean: dict[str, Any],
                                          warehouse_dsn: str) -> None:
    expected = reference.agent_leaderboard(clean["agents"], clean["tasks"], raw["trials"],
                                           clean["customer_ids"])
    actual = read_sql(warehouse_dsn, "select * from marts.agent_leaderboard")
    merged = expected.merge(actual, on="agent_id", how="outer", suffixes=("_pd", "_dbt"), indicator=True)
    assert (merged._merge == "both").all()
    np.testing.assert_allclose(merged.composite_score_dbt.astype(float), merged.composite_score_pd, atol=1e-5)
    assert (merged.industry_rank_dbt == merged.industry_rank_pd).all()
    assert set(actual.groupby("industry").industry_rank.min()) == {1}


def test_llm_cost_breakdown_matches_pandas(raw: dict[str, pd.DataFrame], warehouse_dsn: str) -> None:
    expected = reference.llm_cost_breakdown(raw["llm_usage"])
    actual = read_sql(warehouse_dsn, "select * from marts.llm_cost_breakdown")
    keys = ["day", "provider", "model", "agent_id", "agent_name"]
    for frame in (expected, actual):
        frame["agent_id"] = frame.agent_id.astype("Int64").astype(str)
        frame["agent_name"] = frame.agent_name.fillna("<none>")
    merged = expected.merge(actual, on=keys, how="outer", suffixes=("_pd", "_dbt"), indicator=True)
    assert (merged._merge == "both").all(), merged[merged._merge != "both"].head()
    assert (merged.calls_pd == merged.calls_dbt).all()
    assert (merged.prompt_tokens_pd == merged.prompt_tokens_dbt).all()
    np.testing.assert_allclose(merged.total_cost_usd_dbt.astype(float), merged.total_cost_usd_pd, atol=1e-6)
    assert actual.is_priced.all(), "every simulated model has a price in the seed"


def test_experiment_results_match_pandas_and_scipy(raw: dict[str, pd.DataFrame], warehouse_dsn: str) -> None:
    expected = reference.experiment_results(raw["experiment_assignments"])
    actual = read_sql(warehouse_dsn, "select * from marts.experiment_results")
    merged = expected.merge(actual, on=["experiment_id", "variant"], suffixes=("_pd", "_dbt"))
    assert len(merged) == len(expected) == len(actual) > 0
    assert (merged.users_pd == merged.users_dbt).all()
    np.testing.assert_allclose(merged.conversion_rate_dbt.astype(float), merged.conversion_rate_pd, atol=1e-6)
    np.testing.assert_allclose(merged.absolute_uplift_dbt.astype(float), merged.absolute_uplift_pd, atol=1e-6)
    variants = merged[merged.variant == "variant"]
    np.testing.assert_allclose(variants.z_score_dbt.astype(float), variants.z_score_pd, atol=1e-5)
    np.testing.assert_allclose(variants.p_value_dbt.astype(float), variants.p_value_pd, atol=1e-5)
    assert merged[merged.variant == "control"].p_value_dbt.isna().all()
