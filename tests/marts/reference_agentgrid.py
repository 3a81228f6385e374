"""Independent pandas implementations of the AgentGrid marts (seed 002), straight from the raw rows.

Restated from the models' documented meaning (their .yml descriptions, docs/marts.md and seed 002),
without reading their SQL: messages attributed to the UTC day (and hour) they were sent, costs from
the per-1K-token prices, month-to-date budgets. A disagreement with the warehouse is a bug on one side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.marts.reference import PRICES_PER_1K


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def usage_calls(usage: pd.DataFrame) -> pd.DataFrame:
    """One row per LLM call the marts count: provider and model known, token counts not negative;
    with its day, hour, tokens and cost (NaN for a model without a price)."""
    usage = usage.assign(provider=usage.provider.str.strip().str.lower(), model=usage.model.str.strip().str.lower(),
                         status=usage.status.str.lower(), created_at=_utc(usage.created_at))
    usage = usage[usage.provider.notna() & usage.model.notna()
                  & (usage.prompt_tokens >= 0) & (usage.completion_tokens >= 0)]
    prices = [PRICES_PER_1K.get((p, m), (np.nan, np.nan)) for p, m in zip(usage.provider, usage.model, strict=True)]
    prompt_price = np.array([p[0] for p in prices], dtype=float)
    completion_price = np.array([p[1] for p in prices], dtype=float)
    return usage.assign(
        day=usage.created_at.dt.date, hour=usage.created_at.dt.floor("h"),
        total_tokens=usage.prompt_tokens + usage.completion_tokens,
        cost=usage.prompt_tokens / 1000 * prompt_price + usage.completion_tokens / 1000 * completion_price,
        is_priced=~np.isnan(prompt_price))


def llm_cost_hourly(usage: pd.DataFrame) -> pd.DataFrame:
    calls = usage_calls(usage)
    keys = ["day", "hour", "provider", "model", "agent_id", "agent_name"]
    out = calls.groupby(keys, dropna=False).agg(
        calls=("id", "size"), failed_calls=("status", lambda s: int((s != "ok").sum())),
        prompt_tokens=("prompt_tokens", "sum"), completion_tokens=("completion_tokens", "sum"),
        total_tokens=("total_tokens", "sum"), latency_ms_sum=("latency_ms", "sum"),
        latency_ms_count=("latency_ms", "count"), is_priced=("is_priced", "all"),
        total_cost_usd=("cost", lambda s: s.sum(min_count=1))).reset_index()
    return out


def chat_messages(messages: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Messages of known sessions (a session names its agent and user), with their day and hour."""
    messages = messages[messages.id.notna() & messages.session_id.notna()
                        & (messages.response_time_ms.isna() | (messages.response_time_ms >= 0))
                        & (messages.rag_confidence.isna() | messages.rag_confidence.between(0, 1))]
    sessions = sessions[sessions.id.notna() & sessions.agent_id.notna() & sessions.user_id.notna()]
    joined = messages.merge(sessions[["id", "agent_id", "user_id"]].rename(columns={"id": "session_id"}),
                            on="session_id", how="inner")
    created = _utc(joined.created_at)
    return joined.assign(day=created.dt.date, hour=created.dt.floor("h"), role=joined.role.str.strip().str.lower(),
                         is_error=joined.is_error.fillna(False).astype(bool),
                         rag_confidence=pd.to_numeric(joined.rag_confidence).astype(float),
                         response_time_ms=pd.to_numeric(joined.response_time_ms).astype(float),
                         context_coverage=joined.context_coverage.str.strip().str.lower())


def _usage_by(group: pd.DataFrame) -> pd.Series:
    assistant = group[group.role == "assistant"]
    times = group.response_time_ms.dropna()
    coverage = group.context_coverage.dropna()
    return pd.Series({
        "chats": group.session_id.nunique(), "total_messages": len(group), "unique_users": group.user_id.nunique(),
        "assistant_messages": len(assistant), "error_messages": int(assistant.is_error.sum()),
        "error_rate": assistant.is_error.mean() if len(assistant) else np.nan,
        "response_time_count": len(times), "response_time_sum_ms": times.sum(min_count=1),
        "avg_response_time_ms": times.mean() if len(times) else np.nan,
        "p50_response_time_ms": np.percentile(times, 50) if len(times) else np.nan,
        "p95_response_time_ms": np.percentile(times, 95) if len(times) else np.nan,
        "rag_confidence_count": int(group.rag_confidence.notna().sum()),
        "rag_confidence_sum": group.rag_confidence.sum(min_count=1),
        "avg_rag_confidence": group.rag_confidence.mean(),
        "context_coverage_full_share": (coverage == "full").mean() if len(coverage) else np.nan,
        "context_coverage_partial_share": (coverage == "partial").mean() if len(coverage) else np.nan,
        "context_coverage_none_share": (coverage == "none").mean() if len(coverage) else np.nan,
    })


def _agent_costs(usage: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    calls = usage_calls(usage)
    calls = calls[calls.agent_id.notna()]
    return calls.groupby(keys).agg(llm_calls=("id", "size"), total_tokens=("total_tokens", "sum"),
                                   total_cost_usd=("cost", "sum")).reset_index()


def _with_costs(usage_metrics: pd.DataFrame, costs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = usage_metrics.merge(costs, on=keys, how="left")
    return out.assign(llm_calls=out.llm_calls.fillna(0), total_tokens=out.total_tokens.fillna(0),
                      total_cost_usd=out.total_cost_usd.fillna(0.0))


def agent_metrics_daily(messages: pd.DataFrame, sessions: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    chats = chat_messages(messages, sessions)
    metrics = chats.groupby(["day", "agent_id"]).apply(_usage_by, include_groups=False).reset_index()
    out = _with_costs(metrics, _agent_costs(usage, ["day", "agent_id"]), ["day", "agent_id"])
    return out.rename(columns={"chats": "total_chats"}).assign(
        messages_per_chat=lambda f: f.total_messages / f.total_chats,
        cost_per_message_usd=lambda f: f.total_cost_usd / f.total_messages)


def agent_metrics_hourly(messages: pd.DataFrame, sessions: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    chats = chat_messages(messages, sessions)
    metrics = chats.groupby(["day", "hour", "agent_id"]).apply(_usage_by, include_groups=False).reset_index()
    return _with_costs(metrics, _agent_costs(usage, ["day", "hour", "agent_id"]), ["day", "hour", "agent_id"])


def user_budget_status(usage: pd.DataFrame, users: pd.DataFrame, budgets: pd.DataFrame) -> pd.DataFrame:
    """Every user on every day of the usage's range: month-to-date spend against the monthly budget."""
    calls = usage_calls(usage)
    spend = calls[calls.user_id.notna()].groupby(["user_id", "day"]).cost.sum(min_count=1).rename("cost")
    days = pd.date_range(calls.day.min(), calls.day.max(), freq="D").date
    budgets = budgets[budgets.user_id.notna() & (pd.to_numeric(budgets.monthly_budget_usd) >= 0)]
    people = users[users.id.notna()][["id"]].rename(columns={"id": "user_id"}).merge(
        budgets[["user_id", "monthly_budget_usd"]], on="user_id", how="left")
    spend = spend.reset_index()
    rows = []
    for day in days:
        month = spend[(spend.day >= day.replace(day=1)) & (spend.day <= day)]
        mtd = month.groupby("user_id").cost.sum()  # a user with only unpriced calls spent 0
        today = month[month.day == day].groupby("user_id").cost.sum()
        rows.append(people.assign(day=day, month=day.replace(day=1),
                                  mtd_spend_usd=people.user_id.map(mtd).fillna(0.0),
                                  day_spend_usd=people.user_id.map(today).fillna(0.0)))
    out = pd.concat(rows, ignore_index=True)
    budget = pd.to_numeric(out.monthly_budget_usd).astype(float)
    return out.assign(budget_remaining_usd=budget - out.mtd_spend_usd,
                      budget_used_share=(out.mtd_spend_usd / budget.where(budget != 0)),
                      over_budget=(out.mtd_spend_usd > budget) & budget.notna())
