"""Independent pandas implementations of the churn features and the three export-shaped marts.

Restated from seed 000 (get_churn_risk_customers, BigQuerySync) and the models' descriptions, not from
their SQL: a customer's activity in the trailing 7 days, days inactive capped by the 90-day horizon,
the outcome of the latest trial that ended; per agent and per industry, marketplace revenue beside the
AgentGrid chat metrics and LLM cost.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from tests.marts import reference
from tests.marts.reference_agentgrid import usage_calls

ACTIVITY_DAYS, HORIZON_DAYS = 7, 90


def _day(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.date


def staged_customers(customers: pd.DataFrame) -> pd.DataFrame:
    kept = customers[customers.id.notna() & customers.signup_at.notna()]
    return kept.assign(industry=kept.industry.str.strip().str.lower(), signup_day=_day(kept.signup_at))


def valid_trials(trials: pd.DataFrame, agent_ids: set[int], customer_ids: set[int]) -> pd.DataFrame:
    return trials[trials.id.notna() & trials.customer_id.notna() & trials.agent_id.notna()
                  & trials.trial_start.notna() & trials.trial_end.notna() & (trials.trial_end > trials.trial_start)
                  & trials.agent_id.isin(agent_ids) & trials.customer_id.isin(customer_ids)]


def customer_churn_features(tasks: pd.DataFrame, customers: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """``tasks``: the clean, de-duplicated tasks; ``customers``: staged; ``trials``: valid. One row per
    customer and day of the tasks' range, from the day the customer signed up."""
    task_days = tasks.assign(task_day=_day(tasks.created_at), rating=pd.to_numeric(tasks.rating).astype(float))
    first, last = task_days.task_day.min(), task_days.task_day.max()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    ended = trials.assign(end_day=_day(trials.trial_end), converted=trials.converted.fillna(False).astype(bool))
    # per customer: (task day, rating) and (trial end day, converted), latest trial first
    own_tasks = {c: list(zip(g.task_day, g.rating, strict=True)) for c, g in task_days.groupby("customer_id")}
    own_trials = {c: list(zip(g.end_day, g.converted, strict=True))
                  for c, g in ended.sort_values(["trial_end", "id"], ascending=False).groupby("customer_id")}
    rows = []
    for customer, signup_day in zip(customers.id, customers.signup_day, strict=True):
        for day in days:
            if signup_day > day:
                continue
            horizon, week = day - timedelta(days=HORIZON_DAYS), day - timedelta(days=ACTIVITY_DAYS)
            seen = [(d, r) for d, r in own_tasks.get(customer, []) if horizon < d <= day]
            ratings = [r for d, r in seen if d > week and not np.isnan(r)]
            last_task = max((d for d, _ in seen), default=None)
            outcome = next((1 if converted else -1 for end, converted in own_trials.get(customer, [])
                            if horizon < end <= day), 0)
            tenure = (day - signup_day).days
            rows.append({"day": day, "customer_id": customer, "tasks_last_7d": sum(d > week for d, _ in seen),
                         "avg_rating_last_7d": float(np.mean(ratings)) if ratings else np.nan,
                         "last_task_day": last_task,
                         "days_inactive": (day - last_task).days if last_task else min(tenure, HORIZON_DAYS),
                         "tenure_days": tenure, "trial_outcome": outcome})
    return pd.DataFrame(rows)


def agent_performance(analytics: pd.DataFrame, chats: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    """``analytics``: reference.agent_analytics; ``chats``: reference_agentgrid.agent_metrics_daily."""
    both = analytics.merge(chats, on=["day", "agent_id"], how="outer")
    both = both.merge(agents[["id", "name", "industry"]].rename(columns={"id": "agent_id", "name": "agent_name"}),
                      on="agent_id", how="left")
    return both.assign(tasks_completed=both.tasks_completed.fillna(0), total_revenue=both.total_revenue.fillna(0.0),
                       total_chats=both.total_chats.fillna(0), total_messages=both.total_messages.fillna(0),
                       llm_cost_usd=both.total_cost_usd.fillna(0.0))


def customer_behavior(features: pd.DataFrame, tasks: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    created = tasks.assign(day=_day(tasks.created_at), revenue=pd.to_numeric(tasks.revenue).astype(float))
    completed = created.status == "completed"
    per_day = created.assign(done=completed, done_revenue=created.revenue.where(completed, 0.0)).groupby(
        ["day", "customer_id"]).agg(tasks_created=("id", "size"), tasks_completed=("done", "sum"),
                                    revenue=("done_revenue", "sum")).reset_index()
    out = features.merge(per_day, on=["day", "customer_id"], how="left").merge(
        customers[["id", "industry", "status"]].rename(columns={"id": "customer_id", "status": "customer_status"}),
        on="customer_id", how="left")
    return out.assign(tasks_created=out.tasks_created.fillna(0), tasks_completed=out.tasks_completed.fillna(0),
                      revenue=out.revenue.fillna(0.0))


def revenue_metrics(analytics: pd.DataFrame, agents: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    industry = agents.set_index("id").industry
    revenue = analytics.assign(industry=analytics.agent_id.map(industry)).groupby(["day", "industry"]).agg(
        tasks_completed=("tasks_completed", "sum"), total_revenue=("total_revenue", "sum"),
        active_agents=("agent_id", "nunique")).reset_index()
    calls = usage_calls(usage)
    calls = calls[calls.agent_id.isin(industry.index)]
    costs = calls.assign(industry=calls.agent_id.map(industry)).groupby(["day", "industry"]).cost.sum().rename(
        "llm_cost_usd").reset_index()
    out = revenue.merge(costs, on=["day", "industry"], how="outer")
    out = out.assign(tasks_completed=out.tasks_completed.fillna(0), total_revenue=out.total_revenue.fillna(0.0),
                     active_agents=out.active_agents.fillna(0), llm_cost_usd=out.llm_cost_usd.fillna(0.0))
    return out.assign(revenue_per_task=out.total_revenue / out.tasks_completed.where(out.tasks_completed != 0),
                      gross_margin_usd=out.total_revenue - out.llm_cost_usd)


def marketplace(raw: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The clean marketplace rows every reference starts from."""
    agents = reference.valid_agents(raw["agents"], raw["specialties"])
    customers = staged_customers(raw["customers"])
    tasks = reference.valid_tasks(raw["tasks"], set(agents.id), set(customers.id))
    trials = valid_trials(raw["trials"], set(agents.id), set(customers.id))
    return {"agents": agents, "customers": customers, "tasks": tasks, "trials": trials}
