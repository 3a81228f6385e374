"""``housekeeping/provisioning_cleanup`` and ``housekeeping/orphans``: the retention policy
(``foundation/retention.py``) applied, every deletion recorded in ``housekeeping_deletions``."""

# No `from __future__ import annotations`: Dagster inspects the context annotations at runtime.

from typing import Any

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from foundation.retention import POLICY
from orchestration.lib.resources import BigQueryResource, PostgresResource, provisioning_work_dir

PROVISIONING_CLEANUP_KEY = AssetKey(["housekeeping", "provisioning_cleanup"])
ORPHANS_KEY = AssetKey(["housekeeping", "orphans"])

_CLEANUP_RULES = ("failed_demos", "succeeded_demos", "checkpoints")
_ORPHAN_RULES = ("orphan_embeddings", "generated_files")


def _rules_metadata(names: tuple[str, ...]) -> dict[str, Any]:
    return {"retention": MetadataValue.md("\n".join(f"- `{n}`: {POLICY[n].describe()}" for n in names)),
            **{f"retention_{n}_days": POLICY[n].keep_days for n in names}}


def _cleanup_metadata(report: Any) -> dict[str, Any]:
    counts = report.counts()
    return {**counts, "dagster/row_count": counts["bigquery_datasets"] + counts["data_agents"]
            + counts["checkpoint_threads"],
            "removed": MetadataValue.json(report.as_json()),
            **_rules_metadata(_CLEANUP_RULES)}


@asset(
    key=PROVISIONING_CLEANUP_KEY,
    group_name="housekeeping",
    kinds={"bigquery", "postgres"},
    description=(
        "Deletes the BigQuery datasets and data agents of failed or cancelled provisioning requests at once and "
        f"of succeeded demos {POLICY['succeeded_demos'].keep_days} days after they finished (never a demo flagged "
        f"in_use), and the LangGraph checkpoints of threads finished {POLICY['checkpoints'].keep_days} days ago. "
        "Each deletion is recorded in housekeeping_deletions (what, when, why); a crashed or failed run is "
        "finished by the next one."),
    metadata=_rules_metadata(_CLEANUP_RULES),
)
def provisioning_cleanup(context: AssetExecutionContext, app_db: PostgresResource,
                         bigquery: BigQueryResource) -> MaterializeResult:
    from agents.provisioning.cleanup import CleanupError, clean_up_provisioning

    try:
        report = clean_up_provisioning(app_db.dsn, bigquery.get_client())
    except CleanupError as error:
        partial = getattr(error, "report", None)
        raise Failure(description=str(error),
                      metadata=_cleanup_metadata(partial) if partial is not None else {}) from error
    context.log.info(f"provisioning clean-up: {report.counts()}")
    return MaterializeResult(metadata=_cleanup_metadata(report))


@asset(
    key=ORPHANS_KEY,
    group_name="housekeeping",
    kinds={"postgres"},
    deps=[PROVISIONING_CLEANUP_KEY],  # a removed demo leaves the embeddings of its context behind
    description=(
        "Removes embeddings whose source (chat session, provisioning request, data agent) no longer exists and "
        f"generated files untouched for {POLICY['generated_files'].keep_days} day(s); the metadata says how many "
        "and of which kinds."),
    metadata=_rules_metadata(_ORPHAN_RULES),
)
def orphans(context: AssetExecutionContext, app_db: PostgresResource) -> MaterializeResult:
    from datamove.housekeeping.orphans import report_metadata, sweep_orphans

    report = sweep_orphans(app_db.dsn, provisioning_work_dir())
    metadata = report_metadata(report)
    context.log.info(f"orphans removed: {metadata}")
    return MaterializeResult(metadata={
        **{k: v for k, v in metadata.items() if k not in ("kinds", "embeddings_by_source")},
        "dagster/row_count": report.embeddings_total + len(report.files),
        "kinds": MetadataValue.json(metadata["kinds"]),
        "embeddings_by_source": MetadataValue.json(metadata["embeddings_by_source"]),
        "files": MetadataValue.json(report.files),
        "kept_active": MetadataValue.json(report.kept_active),
        **_rules_metadata(_ORPHAN_RULES)})
