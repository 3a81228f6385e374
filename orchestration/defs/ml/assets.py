"""The ML assets: PostgresML models on the feature marts, their score tables, the anomaly detector.

    ml_features/* ──► ml/<model>_model ──► ml/<score table> ──► ml/anomaly_detector
                                     (each logs to ml.ml_prediction_log)
    marts/customer_churn_features ──► ml/churn_model ──► ml/churn_scores ──► ml/churn_risk_customers
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import logging
from datetime import date
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from ml.models.anomaly import SEVERITIES, ensure_monitoring_views, score_unscored_predictions
from ml.models.predictions import (
    AT_RISK_THRESHOLD,
    CHURN_RISK_TABLE,
    CHURN_SCORES,
    EPIC_COMPLETION,
    PR_REWORK,
    SCORE_TABLES,
    STORY_POINTS,
    UNIFIED_ISSUES,
    NoChurnFeatures,
    ScoreTable,
    ScoringResult,
    check_churn_feature_day,
    score,
    value_counts,
    write_churn_risk_customers,
)
from ml.models.specs import ANOMALY, GROUP, MODELS, ModelSpec
from ml.models.training import TrainingDataMissing, load_ceilings, train_model
from orchestration.lib.resources import PostgresResource, postgresml, read_metadata

log = logging.getLogger(__name__)

_KINDS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "isolation_forest": "scikitlearn"}


class ModelTrainingConfig(Config):
    simulator_report: str = Field(
        default="",
        description="Simulator report JSON whose `ceilings` the metrics are compared with "
        "(default: $PLATFORM_HOME/simulator_report.json, written by `platform simulate`; skipped when absent).",
    )


def _train(spec: ModelSpec, context: AssetExecutionContext, config: ModelTrainingConfig,
           warehouse_db: PostgresResource, replica_db: PostgresResource) -> dict[str, Any]:
    with postgresml(warehouse_db, replica_db, context) as ml:
        try:
            outcome = train_model(ml, spec, load_ceilings(config.simulator_report or None))
        except TrainingDataMissing as exc:
            raise Failure(description=str(exc), allow_retries=False) from exc
    context.log.info("%s (model %s): %s", spec.project, outcome.model_id, outcome.deploy_reason)
    return {**outcome.metadata(), **read_metadata(ml)}


def build_model_asset(spec: ModelSpec) -> AssetsDefinition:
    @asset(
        key=AssetKey(spec.asset_path),
        group_name=GROUP,
        deps=[AssetKey(k) for k in spec.upstream],
        description=f"{spec.description} PostgresML project `{spec.project}`, trained on `{spec.training_view}`.",
        kinds={"postgresml", _KINDS.get(spec.algorithm, "python")},
    )
    def _model(context: AssetExecutionContext, config: ModelTrainingConfig, warehouse_db: PostgresResource,
               replica_db: PostgresResource) -> MaterializeResult:
        return MaterializeResult(metadata=_train(spec, context, config, warehouse_db, replica_db))

    return _model


def _score_metadata(result: ScoringResult) -> dict[str, Any]:
    rows = result.rows
    metadata: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(len(rows)),
        "table": MetadataValue.text(result.table.qualified),
        "project": MetadataValue.text(result.table.spec.project),
        "model_id": MetadataValue.int(result.model_id),
        "predictions_logged": MetadataValue.int(result.logged.logged),
        "predict_seconds": MetadataValue.float(result.seconds),
    }
    if result.table is EPIC_COMPLETION and len(rows):
        metadata["mean_predicted_lead_time_days"] = MetadataValue.float(float(rows["predicted_lead_time_days"].mean()))
        metadata["overdue_epics"] = MetadataValue.int(int(rows["is_overdue"].sum()))
    if result.table is STORY_POINTS and len(rows):
        metadata["mean_estimated_story_points"] = MetadataValue.float(float(rows["estimated_story_points"].mean()))
        metadata["unestimated_issues"] = MetadataValue.int(int(rows["needs_scoring"].sum()))
    if result.table is PR_REWORK:
        metadata["risk_levels"] = MetadataValue.json(value_counts(rows["risk_level"], ("high", "medium", "low")))
    if result.table is UNIFIED_ISSUES and len(rows):
        metadata["mean_predicted_lead_time_days"] = MetadataValue.float(float(rows["predicted_lead_time_days"].mean()))
        metadata["mean_predicted_story_points"] = MetadataValue.float(float(rows["predicted_story_points"].mean()))
        metadata["mean_rework_score"] = MetadataValue.float(float(rows["rework_score"].mean()))
    if result.table is CHURN_SCORES and len(rows):
        metadata["feature_day"] = MetadataValue.text(str(rows["feature_day"].iloc[0]))
        metadata["score_status"] = MetadataValue.json(rows["score_status"].value_counts().to_dict())
        metadata["risk_levels"] = MetadataValue.json(value_counts(rows["risk_level"].dropna(), ("high", "medium", "low")))
        metadata[f"at_risk_customers_above_{AT_RISK_THRESHOLD}"] = MetadataValue.int(
            int((rows["churn_probability"].fillna(0) > AT_RISK_THRESHOLD).sum()))
    if len(rows):
        metadata["preview"] = MetadataValue.md(_markdown(rows.head(5).drop(columns=["predicted_at"])))
    return metadata


def _markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def build_score_asset(table: ScoreTable) -> AssetsDefinition:
    @asset(
        key=AssetKey(table.asset_path),
        group_name=GROUP,
        deps=[AssetKey(k) for k in table.upstream],
        description=f"`{table.qualified}`: {table.spec.project}'s predictions, replaced as a whole each run; "
        "every prediction is also appended to `ml.ml_prediction_log`.",
        kinds={"postgres"},
    )
    def _scores(context: AssetExecutionContext, warehouse_db: PostgresResource,
                replica_db: PostgresResource) -> MaterializeResult:
        with postgresml(warehouse_db, replica_db, context) as ml:
            result = score(ml, table)
        context.log.info("%s: %d rows by model %s", table.qualified, len(result.rows), result.model_id)
        return MaterializeResult(metadata={**_score_metadata(result), **read_metadata(ml)})

    return _scores


@asset(
    key=AssetKey(ANOMALY.asset_path),
    group_name=GROUP,
    deps=[AssetKey(table.asset_path) for table in SCORE_TABLES],
    description=f"{ANOMALY.description} Trains PostgresML project `{ANOMALY.project}`, then scores the logged "
    "predictions that have no anomaly score yet and writes `ml.ml_anomaly_alerts` for anomalies "
    "(severity and recommended action as seed 003).",
    kinds={"postgresml", "scikitlearn"},
)
def anomaly_detector(context: AssetExecutionContext, config: ModelTrainingConfig, warehouse_db: PostgresResource,
                     replica_db: PostgresResource) -> MaterializeResult:
    with postgresml(warehouse_db, replica_db, context) as ml:
        if ml.backend == "pgml":
            raise Failure(description="the pgml extension has no anomaly_detection task; the detector needs the "
                                      "platform's PostgresML-compatible engine", allow_retries=False)
        ensure_monitoring_views(ml.conn)
        try:
            outcome = train_model(ml, ANOMALY)
        except TrainingDataMissing as exc:
            raise Failure(description=f"{exc} (materialize the ml/* score tables)", allow_retries=False) from exc
        scoring = score_unscored_predictions(ml, outcome.model_id)
    context.log.info("scored %d logged predictions: %s", scoring.scored, scoring.by_severity)
    metadata = {**outcome.metadata(), **read_metadata(ml)}
    metadata.update({
        "predictions_scored": MetadataValue.int(scoring.scored),
        "anomalies": MetadataValue.int(scoring.anomalies),
        "alerts_written": MetadataValue.int(scoring.alerts),
        "severities": MetadataValue.json({s: scoring.by_severity.get(s, 0) for s in SEVERITIES}),
    })
    return MaterializeResult(metadata=metadata)


class ChurnScoringConfig(Config):
    feature_day: str = Field(default="", description="Feature day to score (YYYY-MM-DD); default: the latest "
                             "day of marts.customer_churn_features. A day without rows fails the run.")


@asset(
    key=AssetKey(CHURN_SCORES.asset_path),
    group_name=GROUP,
    deps=[AssetKey(k) for k in CHURN_SCORES.upstream],
    description=f"`{CHURN_SCORES.qualified}`: per customer of the latest churn feature day, {CHURN_SCORES.spec.project}'s "
    "churn_probability (seed 000), or why there is none (score_status: no_history, missing_feature:<column>); "
    "replaced as a whole each run, every score appended to `ml.ml_prediction_log`.",
    kinds={"postgres"},
)
def churn_scores(context: AssetExecutionContext, config: ChurnScoringConfig, warehouse_db: PostgresResource,
                 replica_db: PostgresResource) -> MaterializeResult:
    requested = date.fromisoformat(config.feature_day) if config.feature_day else None
    with postgresml(warehouse_db, replica_db, context) as ml:
        ml.sync_reads()
        try:
            day = check_churn_feature_day(ml.read_dsn or replica_db.dsn, requested)
        except NoChurnFeatures as exc:
            raise Failure(description=str(exc), allow_retries=False) from exc
        result = score(ml, CHURN_SCORES, params={"feature_day": day})
    context.log.info("%s: %d customers of %s by model %s", CHURN_SCORES.qualified, len(result.rows), day,
                     result.model_id)
    return MaterializeResult(metadata={**_score_metadata(result), **read_metadata(ml)})


@asset(
    key=AssetKey(("ml", "churn_risk_customers")),
    group_name=GROUP,
    deps=[AssetKey(CHURN_SCORES.asset_path), AssetKey(("staging", "stg_marketplace__customers"))],
    description=f"`{CHURN_RISK_TABLE}`: seed 000's at-risk list, the customers whose churn_probability exceeds "
    f"{AT_RISK_THRESHOLD}, riskiest first, with their name, company, industry and churn features.",
    kinds={"postgres"},
)
def churn_risk_customers(context: AssetExecutionContext, warehouse_db: PostgresResource) -> MaterializeResult:
    with warehouse_db.connect(autocommit=True) as conn:
        rows = write_churn_risk_customers(conn)
    context.log.info("%s: %d customers above %s", CHURN_RISK_TABLE, len(rows), AT_RISK_THRESHOLD)
    metadata: dict[str, Any] = {"dagster/row_count": MetadataValue.int(len(rows)),
                                "table": MetadataValue.text(CHURN_RISK_TABLE),
                                "threshold": MetadataValue.float(AT_RISK_THRESHOLD)}
    if len(rows):
        metadata["preview"] = MetadataValue.md(_markdown(rows.head(10)[
            ["customer_id", "customer_name", "company", "churn_probability", "days_inactive", "trial_outcome"]]))
    return MaterializeResult(metadata=metadata)


model_assets = [build_model_asset(spec) for spec in MODELS]
score_assets = [build_score_asset(table) for table in SCORE_TABLES if table is not CHURN_SCORES]
ml_assets = [*model_assets, *score_assets, churn_scores, churn_risk_customers, anomaly_detector]
