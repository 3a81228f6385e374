"""Health checks of the deployed models (seed 003, Step 4.1.1).

On each model asset (blocking, so a broken model never feeds the score tables):
``predicts_on_sample`` and ``metric_above_floor``. On each score table (warning):
``prediction_drift`` of the batch just logged against the training distribution.
The anomaly detector gets ``predicts_on_sample``, a bound on its anomaly rate and its
recall and precision on the planted anomalies (``ml/models/planted_anomalies.py``).
"""

# No `from __future__ import annotations`: Dagster inspects resource annotations at runtime.

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from ml import NoDeploymentError
from ml.models.health import MEAN_SHIFT_BOUND, PSI_BOUND, predict_sample, prediction_drift
from ml.models.planted_anomalies import PRECISION_TARGET, RECALL_TARGET, evaluate_detector
from ml.models.predictions import SCORE_TABLES, ScoreTable
from ml.models.specs import ALL_MODELS, ANOMALY, TRAJECTORY, ModelSpec
from ml.models.training import finite_number
from orchestration.lib.ml_health import ml_health
from orchestration.lib.resources import PostgresResource, postgresml, read_metadata

ANOMALY_RATE_BOUND = 0.2  # more than one flagged prediction in five means the detector, not the models, is off


def _no_model(spec: ModelSpec) -> AssetCheckResult:
    return AssetCheckResult(passed=False, description=f"{spec.project} has no deployed model",
                            metadata={"project": MetadataValue.text(spec.project)})


def build_sample_check(spec: ModelSpec) -> AssetChecksDefinition:
    @asset_check(asset=AssetKey(spec.asset_path), name="predicts_on_sample", blocking=True,
                 description="The deployed model predicts a sample of its training rows: every output finite "
                 "(probabilities in [0, 1] summing to 1; detector scores <= 0).")
    def _check(warehouse_db: PostgresResource, replica_db: PostgresResource) -> AssetCheckResult:
        with postgresml(warehouse_db, replica_db) as ml:
            try:
                sample = predict_sample(ml, spec)
            except NoDeploymentError:
                return _no_model(spec)
        return AssetCheckResult(
            passed=sample.passed,
            metadata={
                **read_metadata(ml),
                "sample_rows": MetadataValue.int(sample.rows),
                "all_finite": MetadataValue.bool(sample.finite),
                "in_range": MetadataValue.bool(sample.in_range),
                "min_prediction": MetadataValue.float(sample.minimum),
                "max_prediction": MetadataValue.float(sample.maximum),
                "mean_prediction": MetadataValue.float(sample.mean),
            },
        )

    return _check


def build_metric_check(spec: ModelSpec) -> AssetChecksDefinition:
    assert spec.metric and spec.metric_floor is not None
    metric, floor = spec.metric, spec.metric_floor

    @asset_check(asset=AssetKey(spec.asset_path), name="metric_above_floor", blocking=True,
                 description=f"The deployed model's test {metric} is at least {floor}.")
    def _check(warehouse_db: PostgresResource, replica_db: PostgresResource) -> AssetCheckResult:
        with postgresml(warehouse_db, replica_db) as ml:
            try:
                metrics = ml.metrics(spec.project)
            except NoDeploymentError:
                return _no_model(spec)
        value = finite_number(metrics.get(metric))
        passed = value is not None and value >= floor
        return AssetCheckResult(
            passed=passed,
            description=None if passed else f"test {metric} {value} is below the floor {floor}",
            metadata={
                metric: MetadataValue.float(value if value is not None else float("nan")),
                "floor": MetadataValue.float(floor),
            },
        )

    return _check


@asset_check(asset=AssetKey(ANOMALY.asset_path), name="anomaly_rate_within_bound",
             description=f"The detector flags at most {ANOMALY_RATE_BOUND:.0%} of its test rows.")
def anomaly_rate_within_bound(warehouse_db: PostgresResource, replica_db: PostgresResource) -> AssetCheckResult:
    with postgresml(warehouse_db, replica_db) as ml:
        try:
            rate = finite_number(ml.metrics(ANOMALY.project).get("anomaly_rate"))
        except NoDeploymentError:
            return _no_model(ANOMALY)
    passed = rate is not None and rate <= ANOMALY_RATE_BOUND
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        metadata={"anomaly_rate": MetadataValue.float(rate if rate is not None else float("nan")),
                  "bound": MetadataValue.float(ANOMALY_RATE_BOUND)},
    )


@asset_check(asset=AssetKey(ANOMALY.asset_path), name="detects_planted_anomalies",
             description=f"Recall and precision of the deployed detector on labelled anomalies planted in the "
             f"prediction log (bursts of extreme predictions, drifted inputs, a stuck model) and rolled back: "
             f"recall >= {RECALL_TARGET} at precision >= {PRECISION_TARGET}.")
def detects_planted_anomalies(warehouse_db: PostgresResource, replica_db: PostgresResource) -> AssetCheckResult:
    with postgresml(warehouse_db, replica_db) as ml:
        try:
            evaluation = evaluate_detector(ml)
        except NoDeploymentError:
            return _no_model(ANOMALY)
    return AssetCheckResult(
        passed=evaluation.meets_targets,
        severity=AssetCheckSeverity.WARN,
        description=None if evaluation.meets_targets else (
            f"recall {evaluation.recall:.2f} (target {RECALL_TARGET}), precision {evaluation.precision:.2f} "
            f"(target {PRECISION_TARGET}) on {evaluation.planted} planted anomalies"),
        metadata={
            "recall": MetadataValue.float(evaluation.recall),
            "precision": MetadataValue.float(evaluation.precision),
            "planted": MetadataValue.int(evaluation.planted),
            "flagged_planted": MetadataValue.int(evaluation.flagged_planted),
            "flagged_normal": MetadataValue.int(evaluation.flagged_normal),
            "normal": MetadataValue.int(evaluation.normal),
            "recall_by_kind": MetadataValue.json({k: f"{flagged}/{planted}" for k, (flagged, planted)
                                                  in evaluation.by_kind.items()}),
        },
    )


def build_drift_check(table: ScoreTable) -> AssetChecksDefinition:
    spec = table.spec

    @asset_check(asset=AssetKey(table.asset_path), name="prediction_drift",
                 description=f"The latest logged predictions of {spec.project} vs its predictions on the "
                 f"training rows: PSI <= {PSI_BOUND} and mean shift <= {MEAN_SHIFT_BOUND} standard deviations.")
    def _check(warehouse_db: PostgresResource, replica_db: PostgresResource) -> AssetCheckResult:
        with postgresml(warehouse_db, replica_db) as ml:
            try:
                drift = prediction_drift(ml, spec)
            except NoDeploymentError:
                return _no_model(spec)
        if drift is None:
            return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN,
                                    description=f"no logged predictions of {spec.project} yet")
        return AssetCheckResult(
            passed=drift.within_bounds,
            severity=AssetCheckSeverity.WARN,
            description=None if drift.within_bounds else (
                f"{spec.project}'s predictions drifted: PSI {drift.psi:.3f} (bound {PSI_BOUND}), "
                f"mean shift {drift.mean_shift:.2f} sd (bound {MEAN_SHIFT_BOUND})"),
            metadata={
                **read_metadata(ml),
                "psi": MetadataValue.float(drift.psi),
                "psi_bound": MetadataValue.float(PSI_BOUND),
                "mean_shift_sd": MetadataValue.float(drift.mean_shift),
                "mean_shift_bound": MetadataValue.float(MEAN_SHIFT_BOUND),
                "reference_mean": MetadataValue.float(drift.reference_mean),
                "recent_mean": MetadataValue.float(drift.recent_mean),
                "reference_rows": MetadataValue.int(drift.reference_rows),
                "recent_rows": MetadataValue.int(drift.recent_rows),
                "bins": MetadataValue.int(drift.bins),
            },
        )

    return _check


@asset_check(asset=AssetKey(TRAJECTORY.asset_path), name="ml_engine_answers_on_replica",
             description="Seed 003's ML health: the engine's version and a tiny train/predict round trip on the ML "
             "session (the read replica), with the replica's lag; fails when the round trip is wrong or the reads "
             "failed over to the primary. Also `platform ml health`.")
def ml_engine_answers_on_replica(context: AssetCheckExecutionContext, warehouse_db: PostgresResource,
                                 replica_db: PostgresResource) -> AssetCheckResult:
    report = ml_health(warehouse_db, replica_db, context)
    failed_over = "replica_failover" in report
    description = report.get("error") or report.get("replica_failover")
    return AssetCheckResult(
        passed=bool(report["healthy"]) and not failed_over,
        severity=AssetCheckSeverity.WARN if report["healthy"] else AssetCheckSeverity.ERROR,
        description=str(description) if description else None,
        metadata={key: MetadataValue.text(str(value)) if isinstance(value, str) or value is None else value
                  for key, value in report.items()},
    )


def build_model_checks(spec: ModelSpec) -> list[AssetChecksDefinition]:
    checks = [build_sample_check(spec)]
    if spec.metric and spec.metric_floor is not None:
        checks.append(build_metric_check(spec))
    return checks


ml_checks = [
    *(check for spec in ALL_MODELS for check in build_model_checks(spec)),
    anomaly_rate_within_bound,
    detects_planted_anomalies,
    ml_engine_answers_on_replica,
    *(build_drift_check(table) for table in SCORE_TABLES),
]
