"""Writes one ``llm_usage`` row per LLM attempt, so the agents' own cost flows into the marts."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque

import psycopg

from agents.llm.base import UsageRecord
from foundation.settings import mask_dsn

log = logging.getLogger(__name__)

_INSERT = (
    "INSERT INTO llm_usage (agent_name, request_id, provider, model, prompt_tokens, completion_tokens, "
    "latency_ms, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


class UsageRecorder:
    """Records usage to the app database (``PLATFORM_APP_DSN`` unless ``dsn`` is given).

    Without a DSN the records are only kept in memory (``recent``). A failed insert is
    logged and never fails the agent step: cost tracking must not break provisioning.
    """

    def __init__(self, dsn: str | None = None, *, keep: int = 1000) -> None:
        self.dsn = dsn if dsn is not None else os.environ.get("PLATFORM_APP_DSN") or None
        self.recent: deque[UsageRecord] = deque(maxlen=keep)
        self.failures = 0
        self._lock = threading.Lock()

    def record(self, record: UsageRecord) -> None:
        with self._lock:
            self.recent.append(record)
            if not self.dsn:
                log.debug("llm usage (not persisted, no PLATFORM_APP_DSN): %s", record)
                return
            try:
                with psycopg.connect(self.dsn, connect_timeout=5, autocommit=True) as conn:
                    conn.execute(
                        _INSERT,
                        (
                            record.agent_name,
                            record.request_id,
                            record.provider,
                            record.model,
                            record.prompt_tokens,
                            record.completion_tokens,
                            record.latency_ms,
                            record.status,
                        ),
                    )
            except psycopg.Error as error:
                self.failures += 1
                log.warning("could not record llm usage in %s: %s", mask_dsn(self.dsn), error)
