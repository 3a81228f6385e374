"""The provisioning graph (seed 004): research → data modeling → infrastructure → data agent → demo content.

A LangGraph ``StateGraph`` over ``ProvisioningState``. Durability:

- checkpoints go to PostgreSQL (``PostgresSaver``) in the *app* database, schema
  ``langgraph``: the request, its data agent, its memory and its LLM cost already live
  there, the warehouse is for analytics only, and a separate schema keeps LangGraph's
  tables out of ``public`` (and out of the raw extraction);
- ``durability="sync"``: each node's result is committed before the next node starts;
- ``thread_id`` is the request id, so running a request again resumes after its last
  completed node (input ``None`` when a checkpoint is pending) and a finished request is
  not provisioned twice;
- ``provisioning_requests.cancel_requested`` is read before every node: a cancelled
  request stops between nodes with status ``cancelled``;
- bounded: ``recursion_limit`` = the five nodes plus a margin, LLM content retries inside
  the providers (2), the SQL loop's 3 retries, and a ``RetryPolicy`` (3 attempts) on the
  infrastructure node for transient BigQuery errors only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import psycopg
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy
from psycopg.rows import dict_row

from agents.guards.url import DEFAULT_URL_POLICY, URLPolicy
from agents.llm import LLMError, LLMProvider
from agents.provisioning import requests as request_store
from agents.provisioning.data_agent import (
    capi_enabled,
    create_capi_agent,
    design_data_agent,
    register_data_agent,
    update_golden_queries,
)
from agents.provisioning.demo_content import DemoContentFailed, build_demo_content
from agents.provisioning.infrastructure import DataPlan, dataset_name, ensure_files, provision_dataset
from agents.provisioning.modeling import design_schema
from agents.provisioning.research import ResearchFailed, research_customer
from agents.provisioning.state import NODE_ORDER, ProvisioningState
from agents.provisioning.synthetic import SyntheticDataTooLarge, generate_dataset
from agents.schemas import BusinessProfile, SchemaDesign

log = logging.getLogger(__name__)

CHECKPOINT_SCHEMA = "langgraph"
RECURSION_LIMIT = len(NODE_ORDER) + 5
FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
# Failures no retry can fix: the graph ends with status "failed" and says why.
EXPECTED_FAILURES: tuple[type[Exception], ...] = (ResearchFailed, DemoContentFailed, LLMError, SyntheticDataTooLarge)
TRANSIENT_BIGQUERY_ERRORS: tuple[type[Exception], ...] = (
    google_exceptions.ServiceUnavailable,
    google_exceptions.InternalServerError,
    google_exceptions.TooManyRequests,
    google_exceptions.BadGateway,
    ConnectionError,
)

NodeHook = Callable[[str, ProvisioningState], None]


@dataclass
class ProvisioningDeps:
    """What the nodes need beyond the state: connections, the provider, limits."""

    app_dsn: str
    bigquery_client: bigquery.Client
    provider: LLMProvider
    work_dir: Path
    location: str | None = None
    url_policy: URLPolicy = DEFAULT_URL_POLICY
    row_scale: float = 1.0
    max_rows: int = 250_000
    statement_timeout_ms: int = 30_000
    before_node: NodeHook | None = None  # called before each node runs (metrics, tests' crash points)
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())  # the caller's clock
    node_runs: dict[str, int] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return str(self.bigquery_client.project)


# -- nodes -------------------------------------------------------------------------


def _profile(state: ProvisioningState) -> BusinessProfile:
    return BusinessProfile.model_validate(state["profile"])


def _schema(state: ProvisioningState) -> SchemaDesign:
    return SchemaDesign.model_validate(state["schema"])


def _plan(state: ProvisioningState, deps: ProvisioningDeps) -> DataPlan:
    return DataPlan(
        folder=deps.work_dir / str(state["request_id"]),
        request_id=state["request_id"],
        anchor=date.fromisoformat(state["data_anchor"]),
        row_scale=deps.row_scale,
        max_rows=deps.max_rows,
    )


def research_node(state: ProvisioningState, deps: ProvisioningDeps) -> dict[str, Any]:
    outcome = research_customer(
        request_id=state["request_id"],
        url=state["customer_url"],
        manual_input=state.get("manual_input"),
        provider=deps.provider,
        url_policy=deps.url_policy,
    )
    warnings = [outcome.details["warning"]] if "warning" in outcome.details else []
    if "url_refused" in outcome.details:
        warnings.append(f"URL refused ({outcome.details['url_refused']}); used the manual input")
    elif "fetch_error" in outcome.details:
        warnings.append(f"site unreachable ({outcome.details['fetch_error']}); used the manual input")
    return {"profile": outcome.profile.model_dump(), "research": outcome.details,
            "llm_calls": outcome.llm_calls, "warnings": warnings}


def data_modeling_node(state: ProvisioningState, deps: ProvisioningDeps) -> dict[str, Any]:
    request_id = state["request_id"]
    dataset = dataset_name(request_id)
    outcome = design_schema(request_id=request_id, profile=_profile(state), dataset=dataset, provider=deps.provider)
    anchor = deps.today()
    plan = DataPlan(deps.work_dir / str(request_id), request_id, anchor, deps.row_scale, deps.max_rows)
    files = generate_dataset(outcome.schema, plan.folder, request_id=request_id, anchor=anchor,
                             row_scale=plan.row_scale, max_rows=plan.max_rows)
    return {
        "schema": outcome.schema.model_dump(),
        "ddl": outcome.ddl,
        "data_anchor": anchor.isoformat(),
        "data_files": {name: {"path": str(t.path), "rows": t.rows, "checksum_column": t.checksum_column}
                       for name, t in files.items()},
        "llm_calls": outcome.llm_calls,
        "warnings": outcome.warnings,
    }


def infrastructure_node(state: ProvisioningState, deps: ProvisioningDeps) -> dict[str, Any]:
    schema = _schema(state)
    files = ensure_files(schema, state["data_files"], _plan(state, deps))
    dataset = dataset_name(state["request_id"])
    profile = _profile(state)
    tables = provision_dataset(
        deps.bigquery_client, dataset=dataset, schema=schema, files=files, location=deps.location,
        description=f"Demo for {profile.business_name} (provisioning request {state['request_id']})",
    )
    return {"dataset": f"{deps.project}.{dataset}", "tables": tables}


def data_agent_node(state: ProvisioningState, deps: ProvisioningDeps) -> dict[str, Any]:
    request_id = state["request_id"]
    dataset = dataset_name(request_id)
    schema = _schema(state)
    spec, call = design_data_agent(request_id=request_id, profile=_profile(state), schema=schema,
                                   dataset=dataset, provider=deps.provider)
    capi_name = None
    warnings: list[str] = []
    if capi_enabled():
        capi_name = create_capi_agent(project=deps.project, dataset=dataset, tables=[t.name for t in schema.tables],
                                      spec=spec, request_id=request_id)
    agent_id = register_data_agent(deps.app_dsn, request_id=request_id, dataset=f"{deps.project}.{dataset}",
                                   spec=spec, capi_agent_name=capi_name)
    return {
        "data_agent": {"id": agent_id, "display_name": spec.display_name, "instructions": spec.instructions,
                       "capi_agent_name": capi_name, "conversational_analytics": capi_enabled()},
        "llm_calls": [call],
        "warnings": warnings,
    }


def demo_content_node(state: ProvisioningState, deps: ProvisioningDeps) -> dict[str, Any]:
    request_id = state["request_id"]
    outcome = build_demo_content(
        request_id=request_id,
        profile=_profile(state),
        schema=_schema(state),
        dataset=dataset_name(request_id),
        client=deps.bigquery_client,
        provider=deps.provider,
        app_dsn=deps.app_dsn,
        statement_timeout_ms=deps.statement_timeout_ms,
    )
    update_golden_queries(deps.app_dsn, request_id, outcome.verified_queries)
    return {
        "golden_queries": [v.as_dict() for v in outcome.validations],
        "demo_script": outcome.script.model_dump(),
        "llm_calls": outcome.llm_calls,
        "warnings": outcome.warnings,
        "status": "succeeded",
    }


NODES: dict[str, Callable[[ProvisioningState, ProvisioningDeps], dict[str, Any]]] = {
    "research": research_node,
    "data_modeling": data_modeling_node,
    "infrastructure": infrastructure_node,
    "data_agent": data_agent_node,
    "demo_content": demo_content_node,
}


def _wrap(name: str, node: Callable[[ProvisioningState, ProvisioningDeps], dict[str, Any]],
          deps: ProvisioningDeps) -> Callable[[ProvisioningState], dict[str, Any]]:
    def run(state: ProvisioningState) -> dict[str, Any]:
        request_id = state["request_id"]
        if request_store.cancel_requested(deps.app_dsn, request_id):
            log.info("request %s: cancel requested; stopping before %s", request_id, name)
            return {"status": "cancelled", "error": f"cancelled by request before {name}"}
        deps.node_runs[name] = deps.node_runs.get(name, 0) + 1
        if deps.before_node is not None:
            deps.before_node(name, state)
        started = time.perf_counter()
        try:
            update = node(state, deps)
        except EXPECTED_FAILURES as error:
            log.warning("request %s: %s failed: %s", request_id, name, error)
            update = {"status": "failed", "error": f"{name}: {error}"}
        seconds = round(time.perf_counter() - started, 3)
        log.info("request %s: %s done in %.2fs", request_id, name, seconds)
        done = [] if update.get("status") == "failed" else [name]
        return {**update, "node_seconds": {name: seconds}, "completed_nodes": done}

    return run


def _route(next_node: str) -> Callable[[ProvisioningState], str]:
    def route(state: ProvisioningState) -> str:
        return END if state.get("status") in FINAL_STATUSES else next_node

    return route


def build_graph(deps: ProvisioningDeps, checkpointer: PostgresSaver | None = None) -> Any:
    graph = StateGraph(ProvisioningState)
    infrastructure_retry = RetryPolicy(max_attempts=3, initial_interval=1.0, retry_on=TRANSIENT_BIGQUERY_ERRORS)
    for name in NODE_ORDER:
        graph.add_node(name, _wrap(name, NODES[name], deps),  # type: ignore[call-overload]
                       retry_policy=infrastructure_retry if name == "infrastructure" else None)
    graph.add_edge(START, NODE_ORDER[0])
    for current, following in zip(NODE_ORDER, (*NODE_ORDER[1:], END), strict=True):
        graph.add_conditional_edges(current, _route(following), [following, END] if following != END else [END])
    return graph.compile(checkpointer=checkpointer, name="provisioning")


# -- checkpoints -------------------------------------------------------------------

_setup_lock = threading.Lock()
_setup_done: set[str] = set()


def _setup_checkpoints(dsn: str) -> None:
    """Create the checkpoint schema and tables once per process (advisory lock across processes)."""
    with _setup_lock:
        if dsn in _setup_done:
            return
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('langgraph-checkpoint-setup'))")
            try:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {CHECKPOINT_SCHEMA}")
                conn.execute(f"SET search_path TO {CHECKPOINT_SCHEMA}")
                PostgresSaver(conn).setup()
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext('langgraph-checkpoint-setup'))")
        _setup_done.add(dsn)


@contextmanager
def postgres_checkpointer(dsn: str) -> Iterator[PostgresSaver]:
    """A ``PostgresSaver`` on its own autocommit connection (as langgraph-checkpoint-postgres requires)."""
    _setup_checkpoints(dsn)
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row,
                         options=f"-c search_path={CHECKPOINT_SCHEMA}") as conn:
        yield PostgresSaver(conn)


# -- running -----------------------------------------------------------------------


def graph_config(request_id: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": str(request_id)}, "recursion_limit": RECURSION_LIMIT}


def initial_state(request: request_store.ProvisioningRequest) -> ProvisioningState:
    return {
        "request_id": request.id,
        "customer_url": request.customer_url,
        "requested_by": request.requested_by,
        "manual_input": request.manual_input,
        "status": "running",
        "error": None,
    }


def run_graph(request: request_store.ProvisioningRequest, deps: ProvisioningDeps,
              checkpointer: PostgresSaver) -> ProvisioningState:
    """Run (or resume, or just read back) the graph of one request; returns the final state."""
    graph = build_graph(deps, checkpointer)
    config = graph_config(request.id)
    snapshot = graph.get_state(config)
    if snapshot.next:
        log.info("request %s: resuming at %s", request.id, ", ".join(snapshot.next))
        graph.invoke(None, config, durability="sync")
    elif snapshot.values.get("status") in FINAL_STATUSES:
        log.info("request %s: already %s; nothing to do", request.id, snapshot.values["status"])
    else:
        graph.invoke(initial_state(request), config, durability="sync")
    return graph.get_state(config).values


def completed_nodes(dsn: str, request_id: int) -> list[str]:
    """Nodes already checkpointed for a request (what a re-run will skip)."""
    # Reading state needs the graph's shape only: the nodes never run here.
    reader = ProvisioningDeps(dsn, cast(bigquery.Client, None), cast(LLMProvider, None), Path("."))
    with postgres_checkpointer(dsn) as saver:
        snapshot = build_graph(reader, saver).get_state(graph_config(request_id))
    return list(snapshot.values.get("completed_nodes", []))
