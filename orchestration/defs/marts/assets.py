"""The dbt project as Dagster assets: one op, ``marts``, so a run invokes dbt once.

- the incremental models tagged ``daily`` are partitioned like the raw layer
  (``MartsTranslator.get_partitions_def``). A run passes its window (days, both inclusive) as
  session settings of dbt's connections (``dbt_project/macros/partition_window.sql``), so a day
  costs the same whatever the history, and the compiled project is the same for every run:
  dbt's partial parse stays valid (``--vars`` would force a full re-parse per run). A backfill
  is one dbt invocation.
- everything else (seeds, staging views, full-refresh marts, ML features) is not partitioned:
  built whole by whichever run selects it.

One op rather than one per kind: each dbt invocation pays dbt's start-up (~2.5 s), and in one
invocation dbt's threads build the daily models beside the others instead of after them.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import filecmp
import logging
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, Failure, MetadataValue, Output
from dagster_dbt import DbtCliInvocation, dbt_assets
from psycopg import sql

from foundation.connections import connect
from orchestration.lib.dbt_env import window_settings
from orchestration.lib.dbt_metadata import enriched_in_background, with_model_metadata
from orchestration.lib.dbt_project import PlatformDbtResource, marts_dbt_project
from orchestration.lib.dbt_translator import MartsTranslator
from orchestration.lib.partition_events import run_partition_keys
from orchestration.lib.run_tags import DBT_OP

log = logging.getLogger(__name__)

DBT_THREADS = "2"

dbt_project = marts_dbt_project()
translator = MartsTranslator()


def partition_window_settings(context: AssetExecutionContext) -> dict[str, str] | None:
    """The run's partition window (days, both inclusive) as dbt's session settings, for the daily
    models it builds; None when it builds none of them (the others are built whole)."""
    if not context.selected_asset_keys & DAILY_MART_KEYS:
        return None
    if not (context.has_partition_key or context.has_partition_key_range):
        raise Failure(description="the daily models are partitioned by day: run them for a day or a range of days "
                                  "(without one, dbt would rebuild every day)", allow_retries=False)
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
    """Run dbt with the warehouse's connection and ``settings`` and stream its events to Dagster,
    each built model with its column types and column lineage (dagster-dbt reads them from the
    warehouse) and its row count: the table's, or for a partitioned model each day's on that day."""
    prune_failed_artifacts(Path(dbt.project_dir) / "target")
    invocation = dbt.invoke([*args, "--threads", DBT_THREADS], context=context, settings=settings)
    daily = {name for name, key in context.assets_def.keys_by_output_name.items() if key in DAILY_MART_KEYS}

    def enrich(output: Output) -> Output:
        # dagster-dbt counts the rows of tables only; by day, each day's count goes on its partition
        by_day = output.output_name in daily
        output = with_model_metadata(invocation, output, row_count=not by_day)
        if not by_day and "dagster/row_count" not in output.metadata:
            output = with_view_row_count(dbt.warehouse_dsn, invocation.manifest, output)
        return output

    for event in enriched_in_background(invocation.stream(), enrich):
        if isinstance(event, Output) and event.output_name in daily:
            report_day_row_counts(context, dbt.warehouse_dsn, invocation.manifest, event)
        yield event
    if not invocation.is_successful():
        raise describe_failure(invocation)  # its artifacts stay for a look (the failure names the command)
    discard_artifacts(invocation)


PARTIAL_PARSE = "partial_parse.msgpack"


def discard_artifacts(invocation: DbtCliInvocation) -> None:
    """Remove a successful invocation's own target folder (``target/<step>-<run>-<id>``: dagster-dbt's
    copy of the manifest, run results, logs; 4-6 MB each). Kept, they grew by one per dbt step of every
    run: a gigabyte after a few days of history, more every day with the real-time refreshes.

    dbt starts from the project's ``target/partial_parse.msgpack`` (dagster-dbt copies it in) and parses
    the whole project again when it no longer fits (the warehouse's address or user changed since
    ``platform dbt-prepare``: "Unable to do partial parsing because profile has changed", 2-3 s per
    invocation). The invocation's new one then becomes the project's (an atomic rename), so one run
    pays that parse, not every dbt step after it."""
    target = Path(invocation.target_path)
    project_target = Path(invocation.project_dir) / "target"
    if target.parent != project_target or target.name == "target":
        return
    parsed, kept = target / PARTIAL_PARSE, project_target / PARTIAL_PARSE
    if parsed.exists() and not (kept.exists() and filecmp.cmp(parsed, kept, shallow=False)):
        os.replace(parsed, kept)
        log.info("dbt parsed the project again: its partial parse replaces %s", kept)
    shutil.rmtree(target, ignore_errors=True)


KEPT_FAILED_STEPS = 10  # target folders of failed (or killed) dbt steps kept for a look
_STEP_FOLDER = re.compile(r"[A-Za-z0-9_]+-[0-9a-f]{7}-[0-9a-f]{7}")  # dagster-dbt's <op>-<run>-<id>


def prune_failed_artifacts(project_target: Path, keep: int = KEPT_FAILED_STEPS) -> list[Path]:
    """Remove all but the ``keep`` newest step folders left in ``project_target``: a failed step keeps
    its folder so its failure can be read, a killed one could not remove it; without a bound they
    grew without end (1.2 GB here after the test campaigns' kills). The project's own files
    (manifest, partial parse, ``compiled``, the column lineage kept) are not step folders."""
    try:
        folders = [f for f in project_target.iterdir() if f.is_dir() and _STEP_FOLDER.fullmatch(f.name)]
    except FileNotFoundError:
        return []
    folders.sort(key=lambda f: f.stat().st_mtime, reverse=True)
    removed = folders[keep:]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def _node(manifest: Mapping[str, Any], output: Output) -> Mapping[str, Any] | None:
    unique_id = output.metadata.get("unique_id")
    return manifest["nodes"].get(str(unique_id.value)) if unique_id is not None else None


def _relation(node: Mapping[str, Any]) -> str:
    """The model's relation in the warehouse it was built in (the manifest's ``relation_name`` also names the
    database the project was parsed against, which need not be the run's)."""
    return sql.Identifier(node["schema"], node.get("alias") or node["name"]).as_string()


def with_view_row_count(warehouse_dsn: str, manifest: Mapping[str, Any], output: Output) -> Output:
    """A view's rows, counted (dagster-dbt counts tables only; the staging views are small scans of raw)."""
    node = _node(manifest, output)
    if not node or node.get("config", {}).get("materialized") != "view":
        return output
    with connect(warehouse_dsn) as conn:
        conn.execute("SET statement_timeout = '60s'")
        rows = int(conn.execute(f"SELECT count(*) FROM {_relation(node)}").fetchone()[0])  # type: ignore[index]  # noqa: S608
    return output.with_metadata({**output.metadata, "dagster/row_count": MetadataValue.int(rows)})


def day_row_counts(warehouse_dsn: str, relation: str, days: list[str]) -> dict[str, int]:
    """Rows of each day of a daily mart (its ``day`` column), days without rows as zero."""
    with connect(warehouse_dsn) as conn:
        counts: dict[str, int] = dict(conn.execute(
            f"SELECT day::text, count(*) FROM {relation} WHERE day BETWEEN %s AND %s GROUP BY 1",  # noqa: S608 - quoted identifiers
            (days[0], days[-1])).fetchall())
    return {day: int(counts.get(day, 0)) for day in days}


def report_day_row_counts(context: AssetExecutionContext, warehouse_dsn: str, manifest: Mapping[str, Any],
                          output: Output) -> None:
    """A daily mart's materialization of each day carries that day's row count."""
    node = _node(manifest, output)
    if not node or node.get("config", {}).get("materialized") == "view":
        return
    asset_key = context.assets_def.keys_by_output_name[output.output_name]
    days = run_partition_keys(context)
    for day, rows in day_row_counts(warehouse_dsn, _relation(node), days).items():
        context.add_asset_metadata({"dagster/row_count": rows}, asset_key=asset_key, partition_key=day)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    backfill_policy=BackfillPolicy.single_run(),  # the daily models' days as one dbt invocation
    dagster_dbt_translator=translator,
    name=DBT_OP,  # the run queue tags every run with this step (orchestration/lib/run_coordinator.py)
)
def marts(context: AssetExecutionContext, dbt: PlatformDbtResource) -> Iterator[Any]:
    settings = partition_window_settings(context)
    if settings:
        context.log.info("dbt window %s", " .. ".join(settings.values()))
    yield from run_dbt(context, dbt, ["build"], settings)


DAILY_MART_KEYS = frozenset(key for key, spec in marts.specs_by_key.items() if spec.partitions_def is not None)
"""The partitioned models (tag ``daily``): built for a run's days."""
