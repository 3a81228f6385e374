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
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
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
from foundation.settings import mask_dsn
from orchestration.lib.data_docs import data_docs_dir, http_link
from orchestration.lib.partition_events import (
    latest_materializations,
    partition_evaluation,
    run_partition_keys,
)
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource, replica_reads
from quality import policy
from quality.daily import DayOutcome, split_by_day
from quality.quarantine import quarantine_counts
from quality.reconcile import RECONCILED_MARTS, DayReconciliation, MartNotBuiltError, reconcile
from quality.rules import MART_SUITES, MARTS_SCHEMA, RAW_SUITES, Rule, TableSuite, mart_suite
from quality.validation import RuleOutcome, SuiteValidation, TableNotBuiltError, source_latest, validate_suite

log = logging.getLogger(__name__)


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
            metadata["data_docs"] = MetadataValue.url(http_link(validation.data_docs_url))
        metadata["validation_seconds"] = round(validation.seconds, 3)
    return metadata


def evaluate_suite(suite: TableSuite, warehouse_dsn: str, app_dsn: str | None, start: date | None,
                   end: date | None, selected: set[str], docs: Path | None) -> Iterator[AssetCheckResult]:
    """Validate the window and yield one result per selected rule (shared by the checks and tests)."""
    results, _ = _evaluate(suite, warehouse_dsn, app_dsn, start, end, selected, docs)
    yield from results


def _evaluate(suite: TableSuite, warehouse_dsn: str, app_dsn: str | None, start: date | None, end: date | None,
              selected: set[str], docs: Path | None) -> tuple[list[AssetCheckResult], SuiteValidation | None]:
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
        return [_result(suite, rule, False, {"error": str(missing), "window": window_text})
                for rule in suite.rules if rule.name in selected], None
    raw_rows, quarantined, by_rule = quarantine_counts(warehouse_dsn, suite, start, end)
    results = []
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
                metadata["data_docs"] = MetadataValue.url(http_link(validation.data_docs_url))
            results.append(_result(suite, rule, share <= policy.MAX_VALIDATION_ERROR_RATE, metadata))
            continue
        outcome = outcomes[rule.name]
        metadata.update(outcome_metadata(outcome, validation))
        if rule.name in by_rule:
            metadata["quarantined_rows"] = by_rule[rule.name]
        if rule.kind == "freshness" and latest is not None:
            metadata["source_latest"] = latest.isoformat()
        results.append(_result(suite, rule, outcome.success, metadata))
    return results, validation


def day_result(suite: TableSuite, rule: Rule, day: date, outcome: DayOutcome,
               validation: SuiteValidation) -> AssetCheckResult:
    """One rule on one day of a window validated as a whole: the day's counts, the window's Data Docs."""
    metadata: dict[str, object] = {"day": day.isoformat(), "element_count": outcome.element_count,
                                   "validation_window": f"[{validation.start}, {validation.end})"}
    if outcome.unexpected_count is not None:
        metadata["unexpected_count"] = outcome.unexpected_count
    if outcome.unexpected_percent is not None:
        metadata["unexpected_percent"] = outcome.unexpected_percent
    metadata.update(outcome.observed)
    if outcome.note:
        metadata["note"] = outcome.note
    if validation.data_docs_url:
        metadata["data_docs"] = MetadataValue.url(http_link(validation.data_docs_url))
    return _result(suite, rule, outcome.passed, metadata)


def evaluate_suite_by_day(suite: TableSuite, warehouse_dsn: str, app_dsn: str | None, days: list[str],
                          selected: set[str], docs: Path | None) -> Iterator[tuple[str, AssetCheckResult]]:
    """Each day's result of each selected rule: one GX validation of the days, split per day in one pass."""
    start, end = date.fromisoformat(days[0]), date.fromisoformat(days[-1]) + timedelta(days=1)
    results, validation = _evaluate(suite, warehouse_dsn, app_dsn, start, end, selected, docs)
    if len(days) == 1 or validation is None:  # one day, or nothing to split (the table is not built)
        yield from ((day, result) for day in days for result in results)
        return
    split = split_by_day(validation, warehouse_dsn, [r.check_name for r in results if r.check_name], app_dsn)
    for day, by_rule in split.items():
        for name, outcome in by_rule.items():
            yield day.isoformat(), day_result(suite, suite.rule(name), day, outcome, validation)


def evaluations_by_day(context: AssetCheckExecutionContext, suite: TableSuite,
                       results: Iterable[tuple[str, AssetCheckResult]]) -> Iterator[AssetCheckEvaluation]:
    """Each day's result as that day's evaluation, about that day's latest materialization."""
    key = AssetKey(list(suite.asset_key))
    targets = latest_materializations(context.instance, key, run_partition_keys(context))
    for day, result in results:
        yield partition_evaluation(result, day, suite.blocking(suite.rule(result.check_name or "")), targets.get(day))


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
                app_db: PostgresResource) -> Iterator[AssetCheckResult | AssetCheckEvaluation]:
        selected = {key.name for key in context.selected_asset_check_keys}
        if suite.partitioned:
            yield from evaluations_by_day(context, suite, evaluate_suite_by_day(
                suite, warehouse_db.dsn, app_db.dsn, run_partition_keys(context), selected, data_docs_dir()))
            return
        yield from evaluate_suite(suite, warehouse_db.dsn, app_db.dsn, None, None, selected, data_docs_dir())

    return _checks


raw_quality_checks = [build_suite_checks(s) for s in RAW_SUITES.values()]


def build_generated_checks(name: str, suites: list[TableSuite], partitions_def: PartitionsDefinition | None
                           ) -> AssetChecksDefinition:
    """One step for many marts whose suite is generated (the finiteness rule alone): one process and
    one Great Expectations import for all of them, one validation and one result per mart."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        specs = [spec for suite in suites for spec in _specs(suite, partitions_def)]
    by_key = {AssetKey(list(suite.asset_key)): suite for suite in suites}

    @multi_asset_check(name=name, specs=specs, can_subset=True, compute_kind="great_expectations",
                       description="Every numeric column of every mart is finite (quality/rules.py finite)")
    def _checks(context: AssetCheckExecutionContext, warehouse_db: PostgresResource
                ) -> Iterator[AssetCheckResult | AssetCheckEvaluation]:
        selected: dict[AssetKey, set[str]] = {}
        for key in context.selected_asset_check_keys:
            selected.setdefault(key.asset_key, set()).add(key.name)
        for key, names in selected.items():
            suite = by_key[key]
            if suite.partitioned:
                yield from evaluations_by_day(context, suite, evaluate_suite_by_day(
                    suite, warehouse_db.dsn, None, run_partition_keys(context), names, data_docs_dir()))
            else:
                yield from evaluate_suite(suite, warehouse_db.dsn, None, None, None, names, data_docs_dir())

    return _checks


def mart_quality_checks() -> list[AssetChecksDefinition]:
    """Checks of every mart the dbt project builds, partitioned exactly like each mart asset: the key
    marts' suites on their own, every other mart's numbers checked for NaN and infinities."""
    # imported here: a module-level name would make the defs loader collect the dbt assets twice
    from orchestration.defs.marts.assets import DAILY_MART_KEYS, marts

    partitioned = {key: key in DAILY_MART_KEYS for key in marts.keys if key.path[0] in (MARTS_SCHEMA, "ml_features")}
    checks = []
    generated: dict[bool, list[TableSuite]] = {True: [], False: []}
    for key, daily in sorted(partitioned.items(), key=lambda item: item[0].to_user_string()):
        schema, name = key.path[0], key.path[-1]
        suite = mart_suite(schema, name, daily)
        if not daily:
            suite = replace(suite, partition_column=None)  # a mart built whole is validated whole
        if schema == MARTS_SCHEMA and name in MART_SUITES:
            checks.append(build_suite_checks(suite))
        else:
            generated[daily].append(suite)
    # One check op per mart. A single op for marts at different depths of the graph makes Dagster
    # split it per depth when it builds a job, and it numbers the pieces (``_2``, ``_3``) in an
    # order that changes with each process's hash seed: a Celery or Kubernetes step process would
    # then run another piece than the one the run planned (tests/test_job_plans.py).
    for daily, suites in generated.items():
        for suite in suites:
            checks.append(build_generated_checks(f"quality_{suite.schema}__{suite.name}_finite", [suite],
                                                 daily_partitions if daily else None))
    return checks


mart_checks = mart_quality_checks()


# ---- marts reconciled to raw ---------------------------------------------------------------------

RECONCILIATION_CHECK = "reconciles_to_raw"


def reconciliation_result(key: AssetKey, days: list[DayReconciliation]) -> AssetCheckResult:
    """Passed when every day of the window reconciles; the description names mart, day and difference."""
    mismatched = [d for d in days if not d.reconciled]
    metadata: dict[str, Any] = {
        "days": len(days), "days_mismatched": len(mismatched), "blocking": MetadataValue.bool(True),
        "totals": MetadataValue.md("| day | measure | mart | raw | difference |\n|---|---|---|---|---|\n" + "\n".join(
            f"| {d.day} | {measure} | {mart} | {raw} | {mart - raw} |"
            for d in days for measure, (mart, raw) in d.values.items())),
    }
    if mismatched:
        metadata["mismatches"] = MetadataValue.json([
            {"mart": f"{MARTS_SCHEMA}.{d.mart}", "day": d.day.isoformat(), "measure": m.measure,
             "mart_value": str(m.mart_value), "raw_value": str(m.raw_value), "difference": str(m.difference)}
            for d in mismatched for m in d.mismatches])
    if len(days) == 1:
        metadata.update({f"{measure}_mart": float(mart) for measure, (mart, _) in days[0].values.items()})
        metadata.update({f"{measure}_raw": float(raw) for measure, (_, raw) in days[0].values.items()})
    description = "; ".join(d.describe() for d in mismatched) if mismatched else \
        f"{len(days)} day(s) reconciled with raw"
    return AssetCheckResult(asset_key=key, check_name=RECONCILIATION_CHECK, passed=not mismatched,
                            severity=AssetCheckSeverity.ERROR, description=description[:2000], metadata=metadata)


def build_reconciliation_checks() -> list[AssetChecksDefinition]:
    """Blocking, per daily mart and partition: the mart's totals of each day equal raw's (quality/reconcile.py).
    One check op per mart, for the reason ``mart_quality_checks`` gives."""
    from orchestration.defs.marts.assets import DAILY_MART_KEYS

    return [_reconciliation_check(AssetKey([MARTS_SCHEMA, name])) for name in RECONCILED_MARTS
            if AssetKey([MARTS_SCHEMA, name]) in DAILY_MART_KEYS]


def _reconciliation_check(key: AssetKey) -> AssetChecksDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        specs = [AssetCheckSpec(RECONCILIATION_CHECK, asset=key, blocking=True, partitions_def=daily_partitions,
                                description=f"{', '.join(RECONCILED_MARTS[key.path[-1]].measures)} of each day "
                                            "equal the same totals from raw (blocking)")]

    @multi_asset_check(name=f"reconcile_{key.path[-1]}_to_raw", specs=specs, can_subset=True,
                       compute_kind="postgres",
                       description=f"{key.to_user_string()} reconciled to raw per partition (quality/reconcile.py)")
    def _reconcile(context: AssetCheckExecutionContext, warehouse_db: PostgresResource,
                   replica_db: PostgresResource) -> Iterator[AssetCheckEvaluation]:
        window = context.op_execution_context.partition_time_window
        reads = replica_reads(warehouse_db, replica_db, context)  # only reads: the replica, once it shows the marts
        reads.sync()
        for check_key in context.selected_asset_check_keys:
            key = check_key.asset_key
            targets = latest_materializations(context.instance, key, run_partition_keys(context))
            try:
                days = reconcile(reads.dsn, key.path[-1], window.start.date(), window.end.date())
            except MartNotBuiltError as missing:
                for partition in run_partition_keys(context):
                    yield partition_evaluation(AssetCheckResult(
                        asset_key=key, check_name=RECONCILIATION_CHECK, passed=False, description=str(missing),
                        metadata={"error": str(missing)}), partition, True, targets.get(partition))
                continue
            for day in days:  # each day reconciled on its own partition
                yield partition_evaluation(reconciliation_result(key, [day]), day.day.isoformat(), True,
                                           targets.get(day.day.isoformat()))

    return _reconcile


reconciliation_checks = build_reconciliation_checks()
