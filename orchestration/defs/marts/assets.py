"""The dbt marts as Dagster assets, in two selections.

- ``daily_marts``: incremental models tagged ``daily``, partitioned like the raw layer.
  A run passes its window (days, both inclusive) as session settings of dbt's connections
  (``dbt_project/macros/partition_window.sql``), so a day costs the same whatever the
  history, and the compiled project is the same for every run: dbt's partial parse stays
  valid (``--vars`` would force a full re-parse per run). A backfill is one dbt invocation.
- ``marts``: everything else (seeds, staging views, full-refresh marts, ML features).
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, Failure, MetadataValue
from dagster_dbt import DbtCliInvocation, dbt_assets

from orchestration.lib.dbt_env import window_settings
from orchestration.lib.dbt_project import PlatformDbtResource, marts_dbt_project
from orchestration.lib.dbt_translator import MartsTranslator
from orchestration.lib.partitions import daily_partitions

log = logging.getLogger(__name__)

DAILY_SELECTION = "tag:daily"
DBT_THREADS = "2"

dbt_project = marts_dbt_project()
translator = MartsTranslator()


def partition_window_settings(context: AssetExecutionContext) -> dict[str, str]:
    """The run's partition window (days, both inclusive) as dbt's session settings."""
    window = context.partition_time_window
    return window_settings(window.start.date(), (window.end - timedelta(days=1)).date())


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


def run_dbt(context: AssetExecutionContext, dbt: PlatformDbtResource, args: list[str],
            settings: dict[str, str] | None = None) -> Iterator[Any]:
    """Run dbt with the warehouse's connection and ``settings`` and stream its events to Dagster."""
    invocation = dbt.invoke([*args, "--threads", DBT_THREADS], context=context, settings=settings)
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
def daily_marts(context: AssetExecutionContext, dbt: PlatformDbtResource) -> Iterator[Any]:
    settings = partition_window_settings(context)
    context.log.info("dbt window %s", " .. ".join(settings.values()))
    yield from run_dbt(context, dbt, ["build"], settings)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=DAILY_SELECTION,
    dagster_dbt_translator=translator,
    name="marts",
)
def marts(context: AssetExecutionContext, dbt: PlatformDbtResource) -> Iterator[Any]:
    yield from run_dbt(context, dbt, ["build"])
