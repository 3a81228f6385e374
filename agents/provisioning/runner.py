"""Provision one request end to end: status bookkeeping around the (resumable) graph.

Used by the Dagster asset, the benchmark and the tests alike, so every path writes the same
outcome back to ``provisioning_requests`` (status, error, result JSON, timestamps).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agents.llm import TEMPLATE_MODEL, TEMPLATE_PROVIDER
from agents.provisioning import requests as request_store
from agents.provisioning.graph import FINAL_STATUSES, ProvisioningDeps, postgres_checkpointer, run_graph
from agents.provisioning.state import ProvisioningState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisioningOutcome:
    request_id: int
    status: str  # succeeded | failed | cancelled
    error: str | None
    result: dict[str, Any]
    state: ProvisioningState

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


def provider_label(calls: list[dict[str, Any]]) -> str:
    """``offline-template/templates-v1`` when no real LLM answered, else the models that did."""
    real = sorted({f"{c['provider']}/{c['model']}" for c in calls
                   if c.get("provider") != TEMPLATE_PROVIDER})
    if not real:
        return f"{TEMPLATE_PROVIDER}/{TEMPLATE_MODEL}"
    fallbacks = sum(1 for c in calls if c.get("template_fallback"))
    return ", ".join(real) + (f" ({fallbacks} template fallback(s))" if fallbacks else "")


def summarize(state: ProvisioningState) -> dict[str, Any]:
    """The request's ``result`` JSON (and the asset's metadata): what was built, how well, at what cost."""
    calls = list(state.get("llm_calls", []))
    golden = list(state.get("golden_queries", []))
    profile = state.get("profile") or {}
    script = state.get("demo_script") or {}
    return {
        "business_name": profile.get("business_name"),
        "domain": profile.get("domain"),
        "profile_source": profile.get("source"),
        "research": state.get("research", {}),
        "dataset": state.get("dataset"),
        "tables": state.get("tables", {}),
        "rows": sum((state.get("tables") or {}).values()),
        "data_agent": {k: v for k, v in (state.get("data_agent") or {}).items() if k != "instructions"},
        "golden_queries": [
            {"question": g["question"], "status": g["status"], "attempts": len([a for a in g["attempts"]
                                                                              if a["stage"] != "gave_up"]),
             "rows": g["rows"], "sql": g["sql"], "errors": [a.get("error") for a in g["attempts"] if a.get("error")]}
            for g in golden
        ],
        "golden_queries_ok": sum(1 for g in golden if g["status"] == "ok"),
        "demo_script": script,
        "provider": provider_label(calls),
        "offline": all(c.get("provider") == TEMPLATE_PROVIDER for c in calls),
        "llm": {
            "calls": len(calls),
            "attempts": sum(int(c.get("attempts", 1)) for c in calls),
            "prompt_tokens": sum(int(c.get("prompt_tokens", 0)) for c in calls),
            "completion_tokens": sum(int(c.get("completion_tokens", 0)) for c in calls),
            "template_fallbacks": sum(1 for c in calls if c.get("template_fallback")),
        },
        "node_seconds": state.get("node_seconds", {}),
        "completed_nodes": state.get("completed_nodes", []),
        "warnings": state.get("warnings", []),
    }


def provision_request(request_id: int, deps: ProvisioningDeps, *, run_id: str | None = None) -> ProvisioningOutcome:
    """Run, resume or read back the graph of one request and write the outcome to its row.

    An unexpected exception (a crash, BigQuery down) marks the request failed and is raised
    again, so the Dagster run fails and its retry resumes from the last checkpoint.
    """
    request = request_store.get_request(deps.app_dsn, request_id)
    if request.cancel_requested and request.status in ("pending", "queued"):
        request_store.mark_finished(deps.app_dsn, request_id, "cancelled", error="cancelled before it started")
        return ProvisioningOutcome(request_id, "cancelled", "cancelled before it started", {}, {})
    request_store.mark_running(deps.app_dsn, request_id, run_id)
    try:
        with postgres_checkpointer(deps.app_dsn) as saver:
            state = run_graph(request, deps, saver)
    except Exception as error:
        request_store.mark_finished(deps.app_dsn, request_id, "failed", error=f"{type(error).__name__}: {error}")
        raise
    status = state.get("status", "failed")
    if status not in FINAL_STATUSES:  # the graph stopped without a verdict: treat as a failure
        status, state = "failed", {**state, "error": state.get("error") or "the graph ended without a status"}
    result = summarize(state)
    request_store.mark_finished(deps.app_dsn, request_id, status, result=result, error=state.get("error"))
    log.info("request %s: %s", request_id, status)
    return ProvisioningOutcome(request_id, status, state.get("error"), result, state)
