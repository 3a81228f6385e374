"""What a run over many days reports, day by day.

A backfill of many days runs as one run (``BackfillPolicy.single_run``). Left alone, Dagster
copies the run's one output metadata onto every day's materialization, and records one check
result for the whole window while each day's planned check stays "skipped". Here:

- each day's materialization carries that day's numbers (``context.add_asset_metadata`` with
  its ``partition_key``); the window's totals go on the last day only, as ``window_summary``;
- each day of a partitioned check gets its own evaluation (an ``AssetCheckEvaluation`` naming
  its partition, the event Dagster's ``AssetCheckResult`` becomes inside a one-day run), tied to
  that day's latest materialization, so the UI shows "N / N passed" per day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    MetadataValue,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

WINDOW_SUMMARY = "window_summary"


def run_partition_keys(context: AssetExecutionContext | AssetCheckExecutionContext) -> list[str]:
    """The days of the run: one, or every day of a single-run backfill."""
    op_context = context.op_execution_context if isinstance(context, AssetCheckExecutionContext) else context
    return list(op_context.partition_keys)


def _summary_value(summary: Mapping[str, Any]) -> MetadataValue:
    return MetadataValue.json({k: v.value if isinstance(v, MetadataValue) else v for k, v in summary.items()})


def report_by_partition(context: AssetExecutionContext, by_partition: Mapping[str, Mapping[str, Any]],
                        summary: Mapping[str, Any], asset_key: AssetKey | None = None) -> dict[str, Any]:
    """Each day's metadata on its own materialization; returns what the run's result carries.

    One day: that day's metadata and the summary together. Many days: every day's own (added
    to its materialization here), the summary on the last day only, and nothing shared.
    """
    keys = run_partition_keys(context)
    if len(keys) == 1:
        return {**by_partition.get(keys[0], {}), **summary}
    for key in keys:
        day = dict(by_partition.get(key, {}))
        if key == keys[-1]:
            day[WINDOW_SUMMARY] = _summary_value({"days": len(keys), "first_day": keys[0], "last_day": keys[-1],
                                                  **summary})
        context.add_asset_metadata(day, asset_key=asset_key, partition_key=key)
    return {}


def latest_materializations(instance: DagsterInstance, asset_key: AssetKey, partitions: list[str]
                            ) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each day's latest materialization of ``asset_key``: what that day's check result is about."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=partitions), limit=max(1, len(partitions)) * 4)
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    for record in records.records:  # newest first
        partition = record.partition_key
        if partition is not None and partition not in targets:
            targets[partition] = AssetCheckEvaluationTargetMaterializationData(
                run_id=record.run_id, storage_id=record.storage_id, timestamp=record.timestamp)
    return targets


def partition_evaluation(result: AssetCheckResult, partition: str, blocking: bool,
                         target: AssetCheckEvaluationTargetMaterializationData | None) -> AssetCheckEvaluation:
    """``result`` as the evaluation of one day (a check yields it like a result)."""
    assert result.asset_key is not None and result.check_name is not None
    return AssetCheckEvaluation(
        asset_key=result.asset_key, check_name=result.check_name, passed=result.passed,
        metadata=result.metadata, target_materialization_data=target, severity=result.severity,
        description=result.description, blocking=blocking, partition=partition)
