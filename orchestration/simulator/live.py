"""Live mode: keep appending "today" so sensors and freshness checks see new data."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import psycopg

from foundation.settings import now as platform_now
from orchestration.simulator.agentgrid import LLM_MODELS
from orchestration.simulator.scales import get_scale

log = logging.getLogger(__name__)


def append_batch(conn: psycopg.Connection, rng: np.random.Generator, tasks: int, messages: int) -> dict[str, int]:
    """Insert one batch of tasks, chat messages and their LLM usage, stamped now."""
    now = platform_now()
    agents = [a for (a,) in conn.execute("SELECT id FROM agents WHERE status = 'active'")]
    customers = conn.execute("SELECT max(id) FROM customers").fetchone()[0] or 1  # type: ignore[index]
    sessions = conn.execute("SELECT id, agent_id, user_id FROM chat_sessions ORDER BY id DESC LIMIT 50").fetchall()
    if not agents or not sessions:
        raise RuntimeError("live mode needs a simulated history first: run `platform simulate`")
    next_task = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM tasks").fetchone()[0]  # type: ignore[index]
    task_rows = []
    for i in range(tasks):
        task_id = next_task + i
        rating = round(float(np.clip(rng.normal(4, 0.6), 1, 5)), 1)
        task_rows.append((task_id, f"T-{task_id:09d}", int(rng.choice(agents)), int(rng.integers(1, customers + 1)),
                          "completed", rating, round(float(rng.lognormal(4.5, 0.4)), 2),
                          json.dumps({"channel": "web", "items": int(rng.integers(1, 20)),  # the app's payload shape
                                      "priority": str(rng.choice(["low", "normal", "high"]))}), now, now, now))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO tasks (id, task_ref, agent_id, customer_id, status, rating, revenue, payload, created_at, "
            "completed_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", task_rows)
        next_message = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM chat_messages").fetchone()[0]  # type: ignore[index]
        for i in range(messages):
            session_id, agent_id, user_id = sessions[int(rng.integers(0, len(sessions)))]
            response_ms = int(rng.lognormal(np.log(1200), 0.5))
            confidence = round(float(rng.beta(5, 2)), 3)
            coverage = "full" if confidence > 0.75 else "partial" if confidence > 0.4 else "none"
            cur.execute(
                "INSERT INTO chat_messages (id, session_id, role, content_length, response_time_ms, is_error, "
                "rag_confidence, context_coverage, metadata, created_at) "
                "VALUES (%s, %s, 'assistant', %s, %s, false, %s, %s, %s, %s)",
                (next_message + i, session_id, int(rng.integers(20, 2000)), response_ms, confidence, coverage,
                 json.dumps({"tokens": 300, "sources": int(rng.integers(0, 6))}), now))
            provider, model, _ = LLM_MODELS[int(rng.integers(0, len(LLM_MODELS)))]
            cur.execute(
                "INSERT INTO llm_usage (session_id, message_id, agent_id, user_id, agent_name, provider, model, "
                "prompt_tokens, completion_tokens, latency_ms, status, created_at) "
                "VALUES (%s, %s, %s, %s, 'chat', %s, %s, %s, %s, %s, 'ok', %s)",
                (session_id, next_message + i, agent_id, user_id, provider, model, int(rng.integers(100, 2000)),
                 int(rng.integers(20, 600)), response_ms, now))
    conn.commit()
    return {"tasks": tasks, "chat_messages": messages, "llm_usage": messages}


def run_live(app_dsn: str, *, seed: int, scale: str, interval: float, batches: int | None = None) -> None:
    """Append a batch every ``interval`` seconds (forever, or ``batches`` times)."""
    per_minute = get_scale(scale).tasks_per_day / 1440
    tasks = max(1, round(per_minute * interval / 60))
    tick = 0
    with psycopg.connect(app_dsn) as conn:
        while batches is None or tick < batches:
            rng = np.random.default_rng([seed, 1_000_003, tick])
            added = append_batch(conn, rng, tasks=tasks, messages=max(1, tasks // 2))
            log.info("live batch %d: %s", tick, added)
            tick += 1
            if batches is None or tick < batches:
                time.sleep(interval)
