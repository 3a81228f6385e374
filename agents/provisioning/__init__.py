"""The provisioning graph (seed 004): five agents as LangGraph nodes, checkpointed in PostgreSQL.

``provision_request(request_id, deps)`` runs (or resumes) one ``provisioning_requests`` row
end to end and writes the outcome back; ``build_graph`` / ``run_graph`` are the graph itself.

Names load on first use: the sensor reads requests without importing LangGraph or the LLM SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.provisioning.graph import (
        CHECKPOINT_SCHEMA,
        RECURSION_LIMIT,
        ProvisioningDeps,
        build_graph,
        completed_nodes,
        graph_config,
        postgres_checkpointer,
        run_graph,
    )
    from agents.provisioning.requests import (
        ProvisioningRequest,
        cancel_requested,
        get_request,
        insert_request,
        manual_input_from,
        request_cancel,
    )
    from agents.provisioning.runner import ProvisioningOutcome, provider_label, provision_request, summarize
    from agents.provisioning.state import NODE_ORDER, ProvisioningState

_MODULES = {
    "CHECKPOINT_SCHEMA": "graph",
    "RECURSION_LIMIT": "graph",
    "ProvisioningDeps": "graph",
    "build_graph": "graph",
    "completed_nodes": "graph",
    "graph_config": "graph",
    "postgres_checkpointer": "graph",
    "run_graph": "graph",
    "ProvisioningRequest": "requests",
    "cancel_requested": "requests",
    "get_request": "requests",
    "insert_request": "requests",
    "manual_input_from": "requests",
    "request_cancel": "requests",
    "ProvisioningOutcome": "runner",
    "provider_label": "runner",
    "provision_request": "runner",
    "summarize": "runner",
    "NODE_ORDER": "state",
    "ProvisioningState": "state",
}

__all__ = [
    "CHECKPOINT_SCHEMA",
    "NODE_ORDER",
    "RECURSION_LIMIT",
    "ProvisioningDeps",
    "ProvisioningOutcome",
    "ProvisioningRequest",
    "ProvisioningState",
    "build_graph",
    "cancel_requested",
    "completed_nodes",
    "get_request",
    "graph_config",
    "insert_request",
    "manual_input_from",
    "postgres_checkpointer",
    "provider_label",
    "provision_request",
    "request_cancel",
    "run_graph",
    "summarize",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
