"""Independent pandas implementations of the marts, straight from the raw rows.

They restate the business rules (seed 000/002) without reading any dbt SQL, so a
disagreement with the warehouse points at a real bug on one side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

INDUSTRIES = {"marketing", "education", "sales"}
# Seed 002 prices per 1K tokens, plus the models the platform's agents use.
PRICES_PER_1K = {
    ("openai", "gpt-4"): (0.03, 0.06),
    ("openai", "gpt-4o"): (0.0025, 0.01),
    ("openai", "gpt-3.5-turbo"): (0.0015, 0.002),
    ("google", "gemini-1.5-flash"): (0.00035, 0.00105),
    ("google", "gemini-1.5-pro"): (0.00125, 0.005),
    ("anthropic", "claude-sonnet-4-5"): (0.003, 0.015),
    ("anthropic", "claude-haiku-4-5"): (0.001, 0.005),
    ("offline-template", "templates-v1"): (0.0, 0.0),
}


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def valid_agents(agents: pd.DataFrame, specialties: pd.DataFrame) -> pd.DataFrame:
    agents = agents.assign(industry=agents.industry.str.strip().str.lower(), price=_num(agents.price),
                           rating=_num(agents.rating))
    ok = (
        agents.name.notna()
        & agents.industry.isin(INDUSTRIES)
        & agents.price.between(5000, 50000)
        & agents.rating.between(0, 5)
        & (agents.specialty_id.isna() | agents.specialty_id.isin(specialties.id))
    )
    return agents[ok]


def valid_customer_ids(customers: pd.DataFrame) -> set[int]:
    return set(customers[customers.signup_at.notna()].id)


def valid_tasks(tasks: pd.DataFrame, agent_ids: set[int], customer_ids: set[int]) -> pd.DataFrame:
    latest = tasks.sort_values(["updated_at", "id"]).drop_duplicates("task_ref", keep="last")
    latest = latest[latest.task_ref.notna()]
    latest = latest.assign(status=latest.status.str.strip().str.lower(), rating=_num(latest.rating),
                           revenue=_num(latest.revenue))
    completed_ok = latest.completed_at.isna() | (
        (latest.completed_at >= latest.created_at)
        & (latest.completed_at <= latest.updated_at)
    )
    ok = (
        latest.agent_id.notna()
        & latest.customer_id.notna()
        & latest.status.notna()
        & (latest.rating.isna() | latest.rating.between(0, 5))
        & (latest.revenue.isna() | (latest.revenue >= 0))
        & completed_ok
        & latest.agent_id.isin(agent_ids)
        & latest.customer_id.isin(customer_ids)
    )
    return latest[ok]


def agent_analytics(tasks: pd.DataFrame) -> pd.DataFrame:
    done = tasks[(tasks.status == "completed") & tasks.completed_at.notna()]
    done = done.assign(day=done.completed_at.dt.tz_convert("UTC").dt.date)
    out = done.groupby(["day", "agent_id"]).agg(
        tasks_completed=("id", "size"), avg_rating=("rating", "mean"), total_revenue=("revenue", "sum")
    ).reset_index()
    out["efficiency_score"] = out.tasks_completed * out.avg_rating / 10
    out["revenue_per_task"] = out.total_revenue / out.tasks_completed
    return out


def agent_leaderboard(agents: pd.DataFrame, tasks: pd.DataFrame, trials: pd.DataFrame,
                      customer_ids: set[int]) -> pd.DataFrame:
    agent_ids = set(agents.id)
    trials = trials[
        trials.customer_id.notna() & trials.agent_id.notna() & trials.trial_start.notna()
        & trials.trial_end.notna() & (trials.trial_end > trials.trial_start)
        & trials.agent_id.isin(agent_ids) & trials.customer_id.isin(customer_ids)
    ]
    by_trials = trials.groupby("agent_id").agg(trials=("id", "size"), conversions=("converted", "sum"))
    done = tasks[tasks.status == "completed"]
    by_tasks = tasks.groupby("agent_id").agg(tasks_total=("id", "size")).join(
        done.groupby("agent_id").agg(tasks_completed=("id", "size"), avg_rating=("rating", "mean")))
    board = agents[["id", "industry"]].rename(columns={"id": "agent_id"}).set_index("agent_id")
    board = board.join(by_trials).join(by_tasks).reset_index()
    conversion = (board.conversions / board.trials).fillna(0.0)
    rating = (board.avg_rating / 5).fillna(0.0)
    completion = (board.tasks_completed.fillna(0) / board.tasks_total).fillna(0.0)
    board["composite_score"] = 0.4 * conversion + 0.3 * rating + 0.3 * completion
    board["industry_rank"] = board.groupby("industry").composite_score.rank(method="min", ascending=False).astype(int)
    return board


def llm_cost_breakdown(usage: pd.DataFrame) -> pd.DataFrame:
    usage = usage.assign(provider=usage.provider.str.strip().str.lower(), model=usage.model.str.strip().str.lower())
    usage = usage[(usage.prompt_tokens >= 0) & (usage.completion_tokens >= 0)]
    usage = usage.assign(day=usage.created_at.dt.tz_convert("UTC").dt.date)
    prices = usage.apply(lambda r: PRICES_PER_1K.get((r.provider, r.model), (np.nan, np.nan)), axis=1)
    usage = usage.assign(
        cost=usage.prompt_tokens / 1000 * prices.str[0] + usage.completion_tokens / 1000 * prices.str[1])
    keys = ["day", "provider", "model", "agent_id", "agent_name"]
    return usage.groupby(keys, dropna=False).agg(
        calls=("id", "size"), prompt_tokens=("prompt_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"), total_cost_usd=("cost", "sum"),
    ).reset_index()


def experiment_results(assignments: pd.DataFrame) -> pd.DataFrame:
    assignments = assignments[assignments.variant.isin(["control", "variant"])]
    grouped = assignments.groupby(["experiment_id", "variant"]).agg(
        users=("id", "size"), conversions=("converted", "sum")).reset_index()
    control = grouped[grouped.variant == "control"].set_index("experiment_id")
    grouped["conversion_rate"] = grouped.conversions / grouped.users
    grouped["control_users"] = grouped.experiment_id.map(control.users)
    grouped["control_rate"] = grouped.experiment_id.map(control.conversions / control.users)
    grouped["absolute_uplift"] = grouped.conversion_rate - grouped.control_rate
    pooled = (grouped.conversions + grouped.experiment_id.map(control.conversions)) / (
        grouped.users + grouped.control_users)
    se = np.sqrt(pooled * (1 - pooled) * (1 / grouped.users + 1 / grouped.control_users))
    z = (grouped.conversion_rate - grouped.control_rate) / se
    grouped["z_score"] = z.where(grouped.variant != "control")
    grouped["p_value"] = 2 * (1 - norm.cdf(grouped.z_score.abs()))
    return grouped
