"""AgentGrid: users and budgets, agent versions and experiments, chat, LLM usage (seed 002)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from orchestration.simulator.context import SimContext

# (provider, model, share of calls): priced in the dbt seed of LLM prices.
LLM_MODELS = (
    ("openai", "gpt-4o", 0.30),
    ("openai", "gpt-4", 0.05),
    ("openai", "gpt-3.5-turbo", 0.20),
    ("google", "gemini-1.5-flash", 0.30),
    ("google", "gemini-1.5-pro", 0.05),
    ("anthropic", "claude-sonnet-4-5", 0.10),
)
BUDGETS_USD = np.array([5.0, 20.0, 50.0, 100.0])


def generate(ctx: SimContext, agents: pd.DataFrame) -> dict[str, pd.DataFrame]:
    users = _platform_users(ctx)
    versions = _agent_versions(ctx, agents)
    experiments = _experiments(ctx, versions)
    sessions = _chat_sessions(ctx, agents, users)
    messages = _chat_messages(ctx, sessions)
    return {
        "platform_users": users,
        "user_budgets": _user_budgets(ctx, users),
        "agent_versions": versions,
        "agent_experiments": experiments.drop(columns=["planted_uplift"]),
        "experiment_assignments": _assignments(ctx, experiments, users),
        "chat_sessions": sessions,
        "chat_messages": messages,
        "llm_usage": _llm_usage(ctx, sessions, messages),
    }


def _platform_users(ctx: SimContext) -> pd.DataFrame:
    rng = ctx.rng("platform_users")
    n = ctx.scale.platform_users
    created = ctx.start - pd.to_timedelta(rng.integers(1, 300, n), unit="D")
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "email": [f"user{i}@agentgrid.example" for i in range(1, n + 1)],
            "name": [f"User {i}" for i in range(1, n + 1)],
            "plan": rng.choice(["free", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            "created_at": created,
        }
    )


def _user_budgets(ctx: SimContext, users: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("user_budgets")
    return pd.DataFrame(
        {
            "user_id": users.id,
            "monthly_budget_usd": rng.choice(BUDGETS_USD, len(users), p=[0.4, 0.3, 0.2, 0.1]),
            "updated_at": users.created_at,
        }
    )


def _agent_versions(ctx: SimContext, agents: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("agent_versions")
    counts = rng.integers(1, 5, len(agents))
    agent_ids = np.repeat(agents.id.to_numpy(), counts)
    version = np.concatenate([np.arange(1, c + 1) for c in counts])
    last = np.concatenate([np.arange(1, c + 1) == c for c in counts])
    created = np.repeat(agents.created_at.array.asi8, counts) + version * 20 * 86_400 * 10**9
    return pd.DataFrame(
        {
            "id": np.arange(1, len(agent_ids) + 1),
            "agent_id": agent_ids,
            "version": version,
            "instructions": [f"You are agent {a}, version {v}. Answer concisely." for a, v in
                             zip(agent_ids, version, strict=True)],
            "change_summary": np.where(version == 1, "Initial version", "Tuned instructions"),
            "is_active": last,
            "created_at": pd.to_datetime(created, utc=True),
        }
    )


def _experiments(ctx: SimContext, versions: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("agent_experiments")
    latest = versions[versions.version >= 2].groupby("agent_id").tail(1)
    chosen = latest.sample(n=min(len(latest), max(2, len(latest) // 8)), random_state=ctx.seed).sort_values("id")
    n = len(chosen)
    started = ctx.start + pd.to_timedelta(rng.integers(0, max(1, ctx.days // 3), n), unit="D")
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "agent_id": chosen.agent_id.to_numpy(),
            "name": [f"instructions-v{v}-vs-v{v - 1}" for v in chosen.version],
            "control_version_id": chosen.id.to_numpy() - 1,
            "variant_version_id": chosen.id.to_numpy(),
            "status": "running",
            "started_at": started,
            "ended_at": pd.NaT,
            # planted relative uplift of the variant's conversion rate
            "planted_uplift": np.round(rng.uniform(-0.2, 0.6, n), 3),
        }
    )


def _assignments(ctx: SimContext, experiments: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("experiment_assignments")
    frames = []
    for exp in experiments.itertuples():
        enrolled = rng.choice(users.id.to_numpy(), size=min(len(users), max(20, len(users) // 2)), replace=False)
        variant = np.where(rng.random(len(enrolled)) < 0.5, "control", "variant")
        rate = np.where(variant == "control", 0.12, 0.12 * (1 + exp.planted_uplift))
        window = (ctx.end - exp.started_at).total_seconds()
        assigned = exp.started_at + pd.to_timedelta(rng.uniform(0, window, len(enrolled)), unit="s")
        frames.append(pd.DataFrame({"experiment_id": exp.id, "user_id": enrolled, "variant": variant,
                                    "converted": rng.random(len(enrolled)) < rate, "assigned_at": assigned}))
    assignments = pd.concat(frames, ignore_index=True).sort_values("assigned_at", kind="stable")
    assignments.insert(0, "id", np.arange(1, len(assignments) + 1))
    return assignments.reset_index(drop=True)


def _chat_sessions(ctx: SimContext, agents: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("chat_sessions")
    started = ctx.event_times("chat_sessions", ctx.scale.chat_sessions_per_day)
    n = len(started)
    ended = started + pd.to_timedelta(rng.exponential(600, n).astype("int64") + 30, unit="s")
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "agent_id": agents.id.to_numpy()[rng.integers(0, len(agents), n)],
            "user_id": users.id.to_numpy()[rng.integers(0, len(users), n)],
            "title": [f"Conversation {i}" for i in range(1, n + 1)],
            "started_at": started,
            "ended_at": ended,
            "updated_at": ended,
        }
    )


def _chat_messages(ctx: SimContext, sessions: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("chat_messages")
    turns = rng.poisson(ctx.scale.messages_per_session / 2, len(sessions)) + 1
    pairs = np.repeat(np.arange(len(sessions)), turns)
    turn_no = np.concatenate([np.arange(t) for t in turns])
    session_idx = np.repeat(pairs, 2)
    role = np.tile(["user", "assistant"], len(pairs))
    n = len(session_idx)
    assistant = role == "assistant"
    step = np.repeat(turn_no, 2) * 40 + np.tile([0, 5], len(pairs))
    created = sessions.started_at.array.asi8[session_idx] + step * 10**9
    confidence = np.where(assistant, np.round(rng.beta(5, 2, n), 3), np.nan)
    coverage = np.where(confidence > 0.75, "full", np.where(confidence > 0.4, "partial", "none"))
    metadata = [json.dumps({"tokens": int(t), "sources": int(s)}) for t, s in
                zip(rng.integers(20, 800, n), rng.integers(0, 6, n), strict=True)]
    messages = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "session_id": sessions.id.to_numpy()[session_idx],
            "role": role,
            "content_length": rng.integers(20, 2000, n),
            "response_time_ms": pd.array(np.where(assistant, rng.lognormal(np.log(1200), 0.5, n).astype(int), -1),
                                         dtype="Int64"),
            "is_error": assistant & (rng.random(n) < 0.02),
            "rag_confidence": confidence,
            "context_coverage": pd.Series(coverage).where(assistant),
            "metadata": metadata,
            "created_at": pd.to_datetime(created, utc=True),
        }
    )
    messages.loc[~assistant, "response_time_ms"] = pd.NA
    # Messages of sessions that started just before the window's end may spill past it.
    messages = messages[messages.created_at < ctx.end].reset_index(drop=True)
    rows = ctx.sample_rows("chat_messages", len(messages), "malformed_json")
    messages.loc[rows, "metadata"] = messages.metadata.iloc[rows].str.slice(0, 9).to_numpy()
    rows = ctx.sample_rows("chat_messages", len(messages), "payload_shape")
    messages.loc[rows, "metadata"] = '{"tokens": "many"}'
    # NaN / Infinity travel as text (a float NaN would be written as NULL)
    rows = ctx.sample_rows("chat_messages", len(messages), "non_finite_number",
                           eligible=(messages.role == "assistant").to_numpy())
    messages["rag_confidence"] = messages.rag_confidence.astype(object)
    messages.loc[rows, "rag_confidence"] = np.where(np.arange(len(rows)) % 2 == 0, "NaN", "Infinity")
    return messages


def _llm_usage(ctx: SimContext, sessions: pd.DataFrame, messages: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("llm_usage")
    replies = messages[messages.role == "assistant"]
    n = len(replies)
    model_idx = rng.choice(len(LLM_MODELS), n, p=[m[2] for m in LLM_MODELS])
    session = sessions.set_index("id").loc[replies.session_id]
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "session_id": replies.session_id.to_numpy(),
            "message_id": replies.id.to_numpy(),
            "agent_id": session.agent_id.to_numpy(),
            "user_id": session.user_id.to_numpy(),
            "agent_name": "chat",
            "request_id": pd.array([pd.NA] * n, dtype="Int64"),
            "provider": [LLM_MODELS[i][0] for i in model_idx],
            "model": [LLM_MODELS[i][1] for i in model_idx],
            "prompt_tokens": rng.lognormal(np.log(800), 0.6, n).astype(int) + 10,
            "completion_tokens": rng.lognormal(np.log(250), 0.6, n).astype(int) + 5,
            "latency_ms": replies.response_time_ms.to_numpy(),
            "status": np.where(replies.is_error.to_numpy(), "error", "ok"),
            "created_at": replies.created_at.to_numpy(),
        }
    )
