"""The provisioning graph's state and the request it starts from.

The state is checkpointed to PostgreSQL after every node, so it only holds JSON-friendly
values (dicts of the pydantic models' dumps, lists, numbers): a resumed run in another
process reads back exactly what the previous one wrote. Bulk data (the synthetic rows)
stays out of it; the state names the Parquet files and how to regenerate them.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

NODE_ORDER: tuple[str, ...] = ("research", "data_modeling", "infrastructure", "data_agent", "demo_content")
Status = Literal["running", "succeeded", "failed", "cancelled"]


def _merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class ProvisioningState(TypedDict, total=False):
    # input (the provisioning_requests row)
    request_id: int
    customer_url: str
    requested_by: str
    manual_input: dict[str, Any] | None
    # research
    profile: dict[str, Any]  # BusinessProfile
    research: dict[str, Any]  # source, fetch error / URL refusal, domain score
    # data modeling
    schema: dict[str, Any]  # SchemaDesign
    ddl: list[str]
    data_anchor: str  # ISO date the synthetic dates are anchored on (stable across resumes)
    data_files: dict[str, dict[str, Any]]  # table -> {path, rows, checksum_column}
    # infrastructure
    dataset: str  # project.dataset
    tables: dict[str, int]  # table -> rows read back from BigQuery
    # data agent
    data_agent: dict[str, Any]
    # demo content
    golden_queries: list[dict[str, Any]]
    demo_script: dict[str, Any]
    # bookkeeping, merged across nodes
    llm_calls: Annotated[list[dict[str, Any]], operator.add]
    node_seconds: Annotated[dict[str, float], _merge_dicts]
    completed_nodes: Annotated[list[str], operator.add]
    warnings: Annotated[list[str], operator.add]
    status: Status
    error: str | None
