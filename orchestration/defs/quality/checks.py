"""Every suite of ``quality/rules.py`` as Dagster asset checks on its asset.

One ``multi_asset_check`` per table: a single GX validation of the table's window yields
one check per rule, so the UI shows each rule on its own while the warehouse scans the
window once. Blocking (``blocking=True``, severity ERROR) or warning follows
``quality/policy.py``. Checks of daily-partitioned assets are partitioned the same way
and validate exactly the partition's window.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import logging
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    PreviewWarning,
    multi_asset_check,
)

from foundation.catalog import RAW_SCHEMA
from foundation.settings import load_settings, mask_dsn
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource
from quality import policy
from quality.quarantine import quarantine_counts
from quality.rules import MART_SUITES, RAW_SUITES, Rule, TableSuite
from quality.validation import RuleOutcome, SuiteValidation, TableNotBuiltError, source_latest, validate_suite

log = logging.getLogger(__name__)


def data_docs_dir() -> Path:
    return load_settings().home / "data_docs"


def check_window(context: AssetCheckExecutionContext, suite: TableSuite) -> tuple[date | None, date | None]:
    if not suite.partitioned:
        return None, None
    window = context.op_execution_context.partition_time_window
    return window.start.date(), window.end.date()


def _result(suite: TableSuite, rule: Rule, passed: bool, metadata: dict[str, object]) -> AssetCheckResult:
    blocking = suite.blocking(rule)
    full: dict[str, Any] = {**metadata, "blocking": MetadataValue.bool(blocking), "metric": rule.metric,
                            "rule": rule.description or rule.name}
    if rule.defect:
        full["defect_kind"] = rule.defect
    return AssetCheckResult(
        asset_key=AssetKey(list(suite.asset_key)), check_name=rule.name, passed=passed,
        severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN, metadata=full,
    )


def outcome_metadata(outcome: RuleOutcome, validation: SuiteValidation | None) -> dict[str, object]:
    metadata: dict[str, object] = {}
    if outcome.unexpected_count is not None:
        metadata["unexpected_count"] = int(outcome.unexpected_count)
    if outcome.unexpected_percent is not None:
        metadata["unexpected_percent"] = float(round(outcome.unexpected_percent, 6))
    if outcome.element_count is not None:
        metadata["element_count"] = int(outcome.element_count)
    if outcome.observed_value is not None:
        metadata["observed_value"] = MetadataValue.json({"value": outcome.observed_value})
    if outcome.samples:
        metadata["sample_values"] = MetadataValue.json(outcome.samples)
    if outcome.skipped:
        metadata["skipped"] = outcome.skipped
    if outcome.error:
        metadata["error"] = MetadataValue.text(outcome.error)
    if validation is not None:
        if validation.data_docs_url:
            metadata["data_docs"] = MetadataValue.url(validation.data_docs_url)
        metadata["validation_seconds"] = round(validation.seconds, 3)
    return metadata


def evaluate_suite(suite: TableSuite, warehouse_dsn: str, app_dsn: str | None, start: date | None,
                   end: date | None, selected: set[str], docs: Path | None) -> Iterator[AssetCheckResult]:
    """Validate the window and yield one result per selected rule (shared by the checks and tests)."""
    window_text = f"[{start}, {end})" if start else "snapshot"
    latest = None
    if app_dsn and suite.schema == RAW_SCHEMA and suite.partitioned and start and end and "freshness" in selected:
        try:
            latest = source_latest(app_dsn, suite, start, end)
        except Exception as error:  # noqa: BLE001 - freshness then reports why it was skipped
            log.warning("no source activity for %s from %s: %s", suite.name, mask_dsn(app_dsn), error)
    try:
        validation: SuiteValidation | None = validate_suite(
            suite, warehouse_dsn, start, end, source_latest=latest, rule_names=selected, data_docs_dir=docs)
        outcomes = validation.outcomes if validation else {}
    except TableNotBuiltError as missing:
        validation, outcomes = None, {}
        for rule in suite.rules:
            if rule.name in selected:
                yield _result(suite, rule, False, {"error": str(missing), "window": window_text})
        return
    raw_rows, quarantined, by_rule = quarantine_counts(warehouse_dsn, suite, start, end)
    for rule in suite.rules:
        if rule.name not in selected:
            continue
        metadata: dict[str, object] = {"window": window_text}
        if rule.kind == "error_budget":
            share = quarantined / (raw_rows + quarantined) if raw_rows + quarantined else 0.0
            metadata.update({"quarantined_rows": quarantined, "raw_rows": raw_rows,
                             "quarantined_share": round(share, 6),
                             "target_max_share": policy.MAX_VALIDATION_ERROR_RATE,
                             "quarantine_by_rule": MetadataValue.json(by_rule)})
            if validation and validation.data_docs_url:
                metadata["data_docs"] = MetadataValue.url(validation.data_docs_url)
            yield _result(suite, rule, share <= policy.MAX_VALIDATION_ERROR_RATE, metadata)
            continue
        outcome = outcomes[rule.name]
        metadata.update(outcome_metadata(outcome, validation))
        if rule.name in by_rule:
            metadata["quarantined_rows"] = by_rule[rule.name]
        if rule.kind == "freshness" and latest is not None:
            metadata["source_latest"] = latest.isoformat()
        yield _result(suite, rule, outcome.success, metadata)


def _specs(suite: TableSuite, partitions_def: PartitionsDefinition | None) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(rule.name, asset=AssetKey(list(suite.asset_key)), blocking=suite.blocking(rule),
                       description=(rule.description or rule.name)
                       + (" (blocking)" if suite.blocking(rule) else " (warning)"),
                       partitions_def=partitions_def)
        for rule in suite.rules
    ]


def build_suite_checks(suite: TableSuite) -> AssetChecksDefinition:
    partitions_def = daily_partitions if suite.partitioned else None
    with warnings.catch_warnings():
        # partitioned check specs are "preview" in Dagster 1.13: they make a check validate its partition
        warnings.simplefilter("ignore", PreviewWarning)
        specs = _specs(suite, partitions_def)

    @multi_asset_check(name=f"quality_{suite.schema}__{suite.name}", specs=specs, can_subset=True,
                       compute_kind="great_expectations",
                       description=f"Great Expectations suite {suite.suite_name} (quality/rules.py)")
    def _checks(context: AssetCheckExecutionContext, warehouse_db: PostgresResource,
                app_db: PostgresResource) -> Iterator[AssetCheckResult]:
        start, end = check_window(context, suite)
        selected = {key.name for key in context.selected_asset_check_keys}
        yield from evaluate_suite(suite, warehouse_db.dsn, app_db.dsn, start, end, selected, data_docs_dir())

    return _checks


raw_quality_checks = [build_suite_checks(s) for s in RAW_SUITES.values()]


def mart_quality_checks() -> list[AssetChecksDefinition]:
    """Checks of the key marts the dbt project defines, partitioned exactly like each mart asset."""
    # imported here: a module-level name would make the defs loader collect the dbt assets twice
    from orchestration.defs.marts.assets import daily_marts, marts

    partitioned: dict[AssetKey, bool] = {}
    for assets_def in (daily_marts, marts):
        for key in assets_def.keys:
            partitioned[key] = assets_def.partitions_def is not None
    checks = []
    for suite in MART_SUITES.values():
        key = AssetKey(list(suite.asset_key))
        if key in partitioned:
            # a mart built whole is validated whole, whatever the suite assumed
            checks.append(build_suite_checks(suite if partitioned[key] else replace(suite, partition_column=None)))
    return checks


mart_checks = mart_quality_checks()
