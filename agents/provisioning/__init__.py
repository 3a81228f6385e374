"""The provisioning graph (seed 004): five agents as LangGraph nodes, checkpointed in PostgreSQL.

``provision_request(request_id, deps)`` runs (or resumes) one ``provisioning_requests`` row
end to end and writes the outcome back; ``build_graph`` / ``run_graph`` are the graph itself.
"""

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
