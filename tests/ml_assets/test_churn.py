"""Churn: the label, the at-risk list, bad input, and the detector's measure on planted anomalies."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd
import pytest

from foundation.settings import load_settings
from ml import PostgresML
from ml.errors import MissingValuesError
from ml.models.planted_anomalies import PRECISION_TARGET, RECALL_TARGET, evaluate_detector
from ml.models.predictions import (
    AT_RISK_THRESHOLD,
    CHURN_SCORES,
    NoChurnFeatures,
    check_churn_feature_day,
    churn_unscorable,
)
from ml.models.specs import CHURN, CHURN_HORIZON_DAYS, CHURN_LABEL, CHURN_ROWS
from tests.ml_assets.conftest import MLWarehouse, materialization_metadata

KEY = dg.AssetKey


def test_label_window_past_the_data_end_is_not_labelled(trained: dg.ExecuteInProcessResult,
                                                        ml_warehouse: MLWarehouse) -> None:
    q = ml_warehouse.query
    last = q("SELECT max(day) FROM marts.customer_churn_features")[0][0]
    unlabelled = q(f"SELECT min(day), max(day), count(*) FILTER (WHERE {CHURN_LABEL} IS NOT NULL)"  # noqa: S608
                   f" FROM {CHURN_ROWS} WHERE day > %s::date - {CHURN_HORIZON_DAYS}", (last,))[0]
    assert unlabelled[2] == 0 and unlabelled[1] == last  # the last 7 days: unknown, never "not churned"
    # a labelled row says whether the customer's churn date falls in the 7 days after it
    wrong = q(f"SELECT count(*) FROM {CHURN_ROWS} JOIN staging.stg_marketplace__customers AS c"  # noqa: S608
              " USING (customer_id) WHERE churn.{0} IS NOT NULL AND churn.{0} <>"
              " coalesce((c.churned_at AT TIME ZONE 'UTC')::date BETWEEN day + 1 AND day + 7, false)"
              .format(CHURN_LABEL))[0][0]
    assert wrong == 0
    # rows stop once a customer has churned (no feature row of a day on or after its churn date)
    assert q(f"SELECT count(*) FROM {CHURN_ROWS} JOIN staging.stg_marketplace__customers AS c USING (customer_id)"  # noqa: S608
             " WHERE (c.churned_at AT TIME ZONE 'UTC')::date <= day")[0][0] == 0
    metadata = materialization_metadata(trained, KEY(CHURN.asset_path))
    labelled = q(f"SELECT count(*) FROM {CHURN_ROWS} WHERE has_history AND {CHURN_LABEL} IS NOT NULL")[0][0]  # noqa: S608
    assert metadata["training_rows"] == labelled


def test_churn_scores_and_the_at_risk_list(trained: dg.ExecuteInProcessResult, ml_warehouse: MLWarehouse) -> None:
    q = ml_warehouse.query
    last = q("SELECT max(day) FROM marts.customer_churn_features")[0][0]
    statuses = dict(q("SELECT score_status, count(*) FROM ml.churn_scores GROUP BY 1"))
    assert statuses["scored"] > 0
    # a customer without a task in the horizon gets no score and says why
    assert q("SELECT count(*) FROM ml.churn_scores s JOIN marts.customer_churn_features f"
             " ON f.customer_id = s.customer_id AND f.day = s.feature_day"
             " WHERE (f.last_task_day IS NULL) <> (s.score_status = 'no_history')")[0][0] == 0
    assert q("SELECT count(DISTINCT feature_day), min(feature_day) FROM ml.churn_scores")[0] == (1, last)
    at_risk = q("SELECT customer_id, churn_probability FROM ml.churn_risk_customers ORDER BY churn_probability DESC")
    expected = q("SELECT customer_id FROM ml.churn_scores WHERE churn_probability > %s", (AT_RISK_THRESHOLD,))
    assert {c for c, _ in at_risk} == {c for (c,) in expected} and len(at_risk) > 0
    assert [p for _, p in at_risk] == sorted((p for _, p in at_risk), reverse=True)
    metadata = materialization_metadata(trained, KEY(CHURN_SCORES.asset_path))
    assert metadata[f"at_risk_customers_above_{AT_RISK_THRESHOLD}"] == len(at_risk)


def test_feature_day_without_rows_is_refused(trained: dg.ExecuteInProcessResult, ml_warehouse: MLWarehouse) -> None:
    with pytest.raises(NoChurnFeatures, match=r"no rows for 1999-01-01 \(its days run"):
        check_churn_feature_day(ml_warehouse.dsn, date(1999, 1, 1))


def test_missing_feature_is_named_not_guessed(trained: dg.ExecuteInProcessResult, ml_warehouse: MLWarehouse) -> None:
    row = {"customer_id": 1, "has_history": True, "tasks_last_7d": 2, "avg_rating_last_7d": None,
           "days_inactive": None, "trial_outcome": 0, "tenure_days": 40}
    frame = pd.DataFrame([row, {**row, "days_inactive": 3}, {**row, "has_history": False, "days_inactive": 3}])
    assert churn_unscorable(frame).tolist() == ["missing_feature:days_inactive", "", "no_history"]
    key = load_settings().require_model_signing_key()
    with PostgresML(ml_warehouse.dsn, signing_key=key) as ml, pytest.raises(MissingValuesError, match="days_inactive"):
        ml.predict_batch(CHURN.project, frame[list(CHURN.features)].iloc[:1])


def test_detector_recall_and_precision_are_measured_without_trace(trained: dg.ExecuteInProcessResult,
                                                                  ml_warehouse: MLWarehouse) -> None:
    before = ml_warehouse.query("SELECT count(*), max(id) FROM ml.ml_prediction_log")[0]
    with PostgresML(ml_warehouse.dsn, signing_key=load_settings().require_model_signing_key()) as ml:
        evaluation = evaluate_detector(ml)
    assert ml_warehouse.query("SELECT count(*), max(id) FROM ml.ml_prediction_log")[0] == before
    assert evaluation.planted == sum(planted for _, planted in evaluation.by_kind.values()) > 0
    assert set(evaluation.by_kind) == {"burst", "drift", "stuck"}
    check = next(e for e in trained.get_asset_check_evaluations() if e.check_name == "detects_planted_anomalies")
    assert check.metadata["recall"].value == pytest.approx(evaluation.recall)
    assert check.metadata["precision"].value == pytest.approx(evaluation.precision)
    assert check.passed
    # the bar: the planted failures are found without burying them in healthy predictions
    assert evaluation.recall >= RECALL_TARGET and evaluation.precision >= PRECISION_TARGET
    assert all(flagged >= 0.9 * planted for flagged, planted in evaluation.by_kind.values())  # every kind
