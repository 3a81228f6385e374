"""The dbt marts as Dagster assets, in two selections.

- ``daily_marts``: incremental models tagged ``daily``, partitioned like the raw layer.
  A run passes its window as ``--vars '{min_date, max_date}'`` (both inclusive), so a
  day costs the same whatever the history; a backfill is one dbt invocation.
- ``marts``: everything else (seeds, staging views, full-refresh marts, ML features).
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, Failure, MetadataValue
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets

from orchestration.lib.dbt_env import apply_dbt_environment
from orchestration.lib.dbt_project import marts_dbt_project
from orchestration.lib.dbt_translator import MartsTranslator
from orchestration.lib.partitions import daily_partitions

log = logging.getLogger(__name__)

DAILY_SELECTION = "tag:daily"
DBT_THREADS = "2"

dbt_project = marts_dbt_project()
translator = MartsTranslator()


def partition_vars(context: AssetExecutionContext) -> dict[str, str]:
    """The run's partition window as dbt vars: ISO dates, both inclusive."""
    window = context.partition_time_window
    return {
        "min_date": window.start.date().isoformat(),
        "max_date": (window.end - timedelta(days=1)).date().isoformat(),
    }


def dbt_failures(invocation: DbtCliInvocation) -> list[dict[str, Any]]:
    """Failed nodes of a dbt invocation: name, type, status, dbt's own message, failing rows."""
    try:
        run_results = invocation.get_artifact("run_results.json")
    except Exception:  # no run_results: dbt failed before running anything (e.g. a parse error)
        return []
    failures = []
    for result in run_results.get("results", []):
        if result.get("status") not in ("error", "fail"):
            continue
        # <resource type>.<package>.<name>[.<hash>]: data tests end in a hash, the name is the third part
        parts = result.get("unique_id", "").split(".")
        failures.append(
            {
                "node": parts[2] if len(parts) > 2 else parts[-1] or "?",
                "resource_type": parts[0] or "?",
                "status": result.get("status"),
                "message": (result.get("message") or "").strip(),
                "failing_rows": result.get("failures"),
            }
        )
    return failures


def describe_failure(invocation: DbtCliInvocation) -> Failure:
    """A step failure that names the dbt nodes and quotes dbt, instead of a wrapper trace."""
    failures = dbt_failures(invocation)
    if failures:
        lines = [
            f"{f['resource_type']} {f['node']} ({f['status']}"
            + (f", {f['failing_rows']} failing rows" if f["resource_type"] == "test" and f["failing_rows"] else "")
            + f"): {f['message']}"
            for f in failures
        ]
    else:
        error = invocation.get_error()
        lines = [str(error) if error is not None else "dbt failed without a message"]
    return Failure(
        description="dbt failed:\n" + "\n".join(lines),
        metadata={
            "dbt_command": MetadataValue.text(str(invocation.dbt_command)),
            "failed_nodes": MetadataValue.json(failures),
        },
        allow_retries=False,
    )


def run_dbt(context: AssetExecutionContext, dbt: DbtCliResource, args: list[str]) -> Iterator[Any]:
    """Run dbt with the warehouse's connection settings and stream its events to Dagster."""
    apply_dbt_environment()
    invocation = dbt.cli([*args, "--threads", DBT_THREADS], context=context, raise_on_error=False)
    yield from invocation.stream()
    if not invocation.is_successful():
        raise describe_failure(invocation)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=DAILY_SELECTION,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="daily_marts",
)
def daily_marts(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    dbt_vars = partition_vars(context)
    context.log.info("dbt window %s .. %s", dbt_vars["min_date"], dbt_vars["max_date"])
    yield from run_dbt(context, dbt, ["build", "--vars", json.dumps(dbt_vars)])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=DAILY_SELECTION,
    dagster_dbt_translator=translator,
    name="marts",
)
def marts(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    yield from run_dbt(context, dbt, ["build"])
