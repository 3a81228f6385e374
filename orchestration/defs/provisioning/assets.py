"""``provisioning/provisioned_demo``: one partition per provisioning request, built by the LangGraph graph."""

import json
import shutil
from typing import TYPE_CHECKING, Any

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from foundation.retention import POLICY
from foundation.settings import today as platform_today
from orchestration.lib.partitions import provisioning_request_partitions
from orchestration.lib.resources import (
    BigQueryResource,
    PostgresResource,
    ProvisioningSettings,
    provisioning_work_dir,
)

if TYPE_CHECKING:
    from agents.provisioning import ProvisioningOutcome

PROVISIONED_DEMO_KEY = ["provisioning", "provisioned_demo"]


def _golden_queries_markdown(result: dict[str, Any]) -> str:
    lines = ["| question | status | attempts | rows |", "|---|---|---|---|"]
    for query in result.get("golden_queries", []):
        question = query["question"].replace("|", "\\|")
        lines.append(f"| {question} | {query['status']} | {query['attempts']} | {query['rows']} |")
    return "\n".join(lines)


def _demo_script_markdown(script: dict[str, Any]) -> str:
    lines = [f"### {script.get('title', '')}", f"Audience: {script.get('audience', '')}", ""]
    for i, step in enumerate(script.get("steps", []), start=1):
        lines.append(f"{i}. **{step.get('title', '')}**" + (f": ask *{step['question']}*" if step.get("question") else ""))
        lines.extend(f"   - {point}" for point in step.get("talking_points", []))
    return "\n".join(lines)


def outcome_metadata(outcome: "ProvisioningOutcome") -> dict[str, Any]:
    """What the UI shows for a provisioned demo (never secrets: only labels and counts)."""
    result = outcome.result
    llm = result.get("llm", {})
    return {
        "request_id": outcome.request_id,
        "status": outcome.status,
        "business_name": result.get("business_name") or "",
        "domain": result.get("domain") or "",
        "profile_source": result.get("profile_source") or "",
        "dataset": result.get("dataset") or "",
        "tables": MetadataValue.json(result.get("tables", {})),
        "dagster/row_count": int(result.get("rows", 0)),
        "golden_queries": MetadataValue.md(_golden_queries_markdown(result)),
        "golden_queries_ok": int(result.get("golden_queries_ok", 0)),
        "golden_queries_total": len(result.get("golden_queries", [])),
        "demo_script": MetadataValue.md(_demo_script_markdown(result.get("demo_script") or {})),
        "data_agent": MetadataValue.json(result.get("data_agent", {})),
        "llm_provider": result.get("provider", ""),
        "llm_offline_templates": bool(result.get("offline")),
        "llm_calls": int(llm.get("calls", 0)),
        "llm_prompt_tokens": int(llm.get("prompt_tokens", 0)),
        "llm_completion_tokens": int(llm.get("completion_tokens", 0)),
        "llm_template_fallbacks": int(llm.get("template_fallbacks", 0)),
        "node_seconds": MetadataValue.json(result.get("node_seconds", {})),
        "warnings": MetadataValue.json(result.get("warnings", [])),
    }


@asset(
    key=PROVISIONED_DEMO_KEY,
    partitions_def=provisioning_request_partitions,
    group_name="provisioning",
    kinds={"langgraph", "bigquery"},
    output_required=False,
    # how long a demo is kept (foundation/retention.py; housekeeping/provisioning_cleanup removes it)
    metadata={"retention": "; ".join(POLICY[n].describe() for n in ("succeeded_demos", "failed_demos", "checkpoints")),
              "retention_keep_days": POLICY["succeeded_demos"].keep_days},
    description=(
        "A customer demo built by the provisioning graph (research → data modeling → BigQuery → "
        "data agent → validated golden queries + demo script). One partition per provisioning "
        "request; re-running a partition resumes from the graph's last checkpoint."
    ),
)
def provisioned_demo(
    context: AssetExecutionContext,
    app_db: PostgresResource,
    bigquery: BigQueryResource,
    provisioning: ProvisioningSettings,
):
    request_id = int(context.partition_key)
    # the agents (LangGraph, the LLM SDK) load in the provisioning run, not with the code location
    from agents.llm import UsageRecorder, get_provider
    from agents.provisioning import ProvisioningDeps, provision_request

    recorder = UsageRecorder(app_db.dsn)
    deps = ProvisioningDeps(
        app_dsn=app_db.dsn,
        bigquery_client=bigquery.get_client(),
        provider=get_provider(recorder=recorder),
        work_dir=provisioning_work_dir(),
        location=bigquery.location,
        url_policy=provisioning.url_policy(),
        row_scale=provisioning.row_scale,
        max_rows=provisioning.max_rows,
        statement_timeout_ms=provisioning.statement_timeout_ms,
        today=platform_today,
    )
    context.log.info(f"provisioning request {request_id} with the {deps.provider.name} provider")
    outcome = provision_request(request_id, deps, run_id=context.run_id)
    # The synthetic Parquet only matters until BigQuery holds it (a resume regenerates it if needed).
    shutil.rmtree(deps.work_dir / str(request_id), ignore_errors=True)
    metadata = outcome_metadata(outcome)
    if outcome.status == "cancelled":
        # Nothing to materialize: the request row says cancelled, the run itself did what was asked.
        context.log.warning(f"request {request_id} was cancelled: {outcome.error}")
        return
    if outcome.status != "succeeded":
        raise Failure(description=f"provisioning request {request_id} failed: {outcome.error}",
                      metadata={k: v for k, v in metadata.items() if k in ("request_id", "status", "warnings")})
    context.log.info(json.dumps({"request": request_id, "dataset": outcome.result.get("dataset"),
                                 "golden_queries_ok": outcome.result.get("golden_queries_ok")}))
    yield MaterializeResult(metadata=metadata)
