"""Agent telemetry (seed 001): actions, signature/verifier/training metrics, code embeddings."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd

from orchestration.simulator.context import SimContext

ACTION_TYPES = np.array(["code_analysis", "code_edit", "file_search", "test_execution", "patch_generation",
                         "optimization", "verification", "context_building"])
ENVIRONMENTS = np.array(["development", "testing", "staging", "production", "local"])
SIGNATURES = (("CodeAnalyzer", "analysis"), ("TestRunner", "testing"), ("PatchWriter", "generation"),
              ("ContextBuilder", "retrieval"), ("Planner", "planning"), ("Verifier", "verification"))
VERIFIERS = ("syntax", "types", "tests", "security", "style")
EMBEDDING_DIMENSIONS = 16


def generate(ctx: SimContext, agents: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "agent_actions": _actions(ctx, agents),
        "signature_metrics": _signature_metrics(ctx),
        "verifier_metrics": _verifier_metrics(ctx),
        "training_metrics": _training_metrics(ctx),
        "code_embeddings": _embeddings(ctx),
    }


def _actions(ctx: SimContext, agents: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("agent_actions")
    created = ctx.event_times("agent_actions", ctx.scale.actions_per_day)
    n = len(created)
    kind = rng.choice(ACTION_TYPES, n)
    reward = np.round(rng.beta(4, 2, n), 4)
    files = rng.integers(1, 12, n)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "action_id": [str(uuid.UUID(int=int(v))) for v in rng.integers(0, 2**63, n)],
            "agent_id": agents.id.to_numpy()[rng.integers(0, len(agents), n)],
            "action_type": kind,
            "state_before": [json.dumps({"files": int(f)}) for f in files],
            "state_after": [json.dumps({"files": int(f), "done": bool(r > 0.5)}) for f, r in
                            zip(files, reward, strict=True)],
            "parameters": [json.dumps({"depth": d}) for d in rng.choice(["shallow", "full"], n)],
            "result": [json.dumps({"issues": int(i)}) for i in rng.poisson(2, n)],
            "reward": reward,
            "confidence": np.round(np.clip(reward + rng.normal(0, 0.1, n), 0, 1), 4),
            "execution_time": np.round(rng.lognormal(0.8, 0.6, n), 3),
            "environment": rng.choice(ENVIRONMENTS, n, p=[0.3, 0.2, 0.1, 0.3, 0.1]),
            "context_hash": [f"{v:016x}" for v in rng.integers(0, 2**62, n)],
            "created_at": created,
        }
    )


def _per_day(ctx: SimContext, names: int, stream: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    rng = ctx.rng(stream)
    days = ctx.day_starts()
    stamps = np.repeat(days.asi8, names) + rng.integers(0, 86_400, days.size * names) * 1_000_000_000
    return pd.to_datetime(stamps, utc=True), np.tile(np.arange(names), days.size)


def _signature_metrics(ctx: SimContext) -> pd.DataFrame:
    rng = ctx.rng("signature_metrics:values")
    recorded, which = _per_day(ctx, len(SIGNATURES), "signature_metrics")
    n = len(which)
    progress = np.repeat(np.linspace(0, 1, ctx.days), len(SIGNATURES))  # signatures improve over time
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "signature_name": [SIGNATURES[i][0] for i in which],
            "signature_type": [SIGNATURES[i][1] for i in which],
            "performance_score": np.round(70 + 20 * progress + rng.normal(0, 3, n), 2),
            "success_rate": np.round(np.clip(80 + 15 * progress + rng.normal(0, 2, n), 0, 100), 2),
            "avg_response_time": np.round(rng.lognormal(0.7, 0.3, n), 3),
            "memory_usage_mb": rng.integers(128, 1024, n),
            "iterations": (progress * 200).astype(int) + rng.integers(0, 20, n),
            "active": True,
            "recorded_at": recorded,
        }
    )


def _verifier_metrics(ctx: SimContext) -> pd.DataFrame:
    rng = ctx.rng("verifier_metrics:values")
    recorded, which = _per_day(ctx, len(VERIFIERS), "verifier_metrics")
    n = len(which)
    checks = rng.integers(50, 400, n)
    issues = rng.binomial(checks, 0.15)
    true_pos = rng.binomial(issues, 0.85)
    false_neg = rng.binomial(checks - issues, 0.03)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "verifier_name": [VERIFIERS[i] for i in which],
            "status": np.where(rng.random(n) < 0.97, "ok", "degraded"),
            "checks_performed": checks,
            "issues_found": issues,
            "true_positives": true_pos,
            "false_positives": issues - true_pos,
            "false_negatives": false_neg,
            "avg_execution_time": np.round(rng.lognormal(0, 0.4, n), 3),
            "recorded_at": recorded,
        }
    )


def _training_metrics(ctx: SimContext) -> pd.DataFrame:
    rng = ctx.rng("training_metrics")
    session_days = ctx.day_starts()[::3]
    epochs = 10
    n = len(session_days) * epochs
    epoch = np.tile(np.arange(1, epochs + 1), len(session_days))
    start = np.repeat(session_days.asi8, epochs) + rng.integers(0, 3600, len(session_days)).repeat(epochs) * 10**9
    curve = 1 - np.exp(-epoch / 3)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "session_id": np.repeat([f"session-{d:%Y%m%d}" for d in session_days], epochs),
            "epoch": epoch,
            "training_accuracy": np.round(0.5 + 0.45 * curve + rng.normal(0, 0.01, n), 4),
            "validation_accuracy": np.round(0.5 + 0.4 * curve + rng.normal(0, 0.015, n), 4),
            "loss": np.round(1.2 * np.exp(-epoch / 3) + 0.05 + rng.normal(0, 0.01, n), 4),
            "learning_rate": 0.001,
            "batch_size": 32,
            "model_type": np.repeat(rng.choice(["bootstrap_fewshot", "mipro", "copro"], len(session_days)), epochs),
            "environment": "training",
            "hyperparameters": json.dumps({"temperature": 0.2, "max_demos": 4}),
            "recorded_at": pd.to_datetime(start + epoch * 300 * 10**9, utc=True),
        }
    )


def _embeddings(ctx: SimContext) -> pd.DataFrame:
    rng = ctx.rng("code_embeddings")
    created = ctx.event_times("code_embeddings", max(2, ctx.scale.actions_per_day // 20))
    n = len(created)
    vectors = rng.normal(0, 1, (n, EMBEDDING_DIMENSIONS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = rng.integers(0, 500, n)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "source_type": rng.choice(["code", "documentation", "log", "context"], n),
            "source_path": [f"src/module_{i % 40}.py" for i in range(n)],
            "chunk_start": start,
            "chunk_end": start + rng.integers(20, 200, n),
            "embedding": ["[" + ",".join(f"{x:.5f}" for x in v) + "]" for v in vectors],
            "metadata": [json.dumps({"lang": "python"})] * n,
            "created_at": created,
        }
    )
