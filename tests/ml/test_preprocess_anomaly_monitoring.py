"""Preprocessing (encodings, imputation, scaling, text features), anomaly detection and the prediction log."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from foundation.settings import now as platform_now
from ml import (
    InvalidArgumentError,
    InvalidColumnError,
    MissingValuesError,
    NoDeploymentError,
    PostgresML,
    log_predictions,
    severity_for,
)
from tests.ml.conftest import load_table

WORDS = ["refactor", "login", "page", "button", "report", "export", "cache", "typo", "docs", "query"]


@pytest.fixture(scope="module")
def issues_table(warehouse: psycopg.Connection) -> str:
    """story_points = 2 + 5*[summary mentions 'migration'] + 3*[team = 'platform'] + 0.5*comments + noise."""
    rng = np.random.default_rng(7)
    n = 1200
    migration = rng.random(n) < 0.3
    team = rng.choice(["web", "platform", "data"], size=n)
    comments = rng.integers(0, 10, size=n)
    summaries = [
        " ".join(rng.choice(WORDS, size=4)) + (" database migration" if m else "") for m in migration
    ]
    priority = rng.choice(["low", "medium", "high", None], size=n).tolist()
    points = 2 + 5 * migration + 3 * (team == "platform") + 0.5 * comments + 0.3 * rng.normal(size=n)
    return load_table(
        warehouse,
        "issues_text",
        {"summary": summaries, "team": team, "priority": priority, "comment_count": comments, "story_points": points},
        {"summary": "text", "team": "varchar(20)", "priority": "text", "comment_count": "int4",
         "story_points": "numeric(8,3)"},
    )


def test_text_feature_and_categoricals_learn_the_signal(ml: PostgresML, issues_table: str) -> None:
    # Without a text feature the summary is a categorical whose test values were never seen.
    with pytest.raises(MissingValuesError, match=r"complexity_no_text.*unseen values for column `summary`"):
        ml.train("complexity_no_text", "regression", issues_table, "story_points", algorithm="xgboost")
    without_text = ml.train("complexity_no_text", "regression", issues_table, "story_points", algorithm="xgboost",
                            preprocess={"team": {"encode": "one_hot"}, "summary": {"impute": "mode"}})
    with_text = ml.train(
        "complexity_text", "regression", issues_table, "story_points", algorithm="xgboost",
        preprocess={
            "summary": {"text": {"method": "tfidf", "max_features": 32}},
            "team": {"encode": "one_hot"},
            "priority": {"encode": {"ordinal": ["low", "medium", "high"]}},
            "comment_count": {"scale": "standard"},
        },
    )
    assert with_text.metrics["r2"] > 0.95 > without_text.metrics["r2"], (with_text.metrics, without_text.metrics)
    migration = ml.predict("complexity_text", ["fix login database migration", "web", "low", 0])
    plain = ml.predict("complexity_text", ["fix login page", "web", "low", 0])
    assert migration - plain == pytest.approx(5.0, abs=1.0)
    batch = ml.predict_batch("complexity_text", relation=issues_table, where="team = 'platform'")
    assert batch.mean() > 5


@pytest.mark.parametrize("method", ["native", "target"])
def test_categorical_encodings(ml: PostgresML, issues_table: str, method: str) -> None:
    result = ml.train(f"complexity_{method}", "regression", issues_table, "story_points", algorithm="lightgbm",
                      preprocess={"summary": {"text": "hashing"}, "team": {"encode": method}})
    assert result.metrics["r2"] > 0.9
    # An unseen category is a missing value: upstream's default impute (error) refuses it.
    with pytest.raises(MissingValuesError, match="`team`"):
        ml.predict(f"complexity_{method}", ["x", "marketing", "low", 1])


def test_preprocess_validation(ml: PostgresML, issues_table: str) -> None:
    with pytest.raises(InvalidArgumentError, match="continuous column `comment_count`"):
        ml.train("pp_bad", "regression", issues_table, "story_points", preprocess={"comment_count": {"encode": "one_hot"}})
    with pytest.raises(InvalidArgumentError, match="unknown scale"):
        ml.train("pp_bad", "regression", issues_table, "story_points", preprocess={"comment_count": {"scale": "log"}})
    with pytest.raises(InvalidColumnError, match="`nope`"):
        ml.train("pp_bad", "regression", issues_table, "story_points", preprocess={"nope": {"impute": "zero"}})
    with pytest.raises(InvalidColumnError, match="not a text column"):
        ml.train("pp_bad", "regression", issues_table, "story_points", preprocess={"comment_count": {"text": "tfidf"}})
    with pytest.raises(InvalidColumnError, match="ordinal"):
        ml.train("pp_bad", "regression", issues_table, "story_points",
                 preprocess={"priority": {"encode": {"ordinal": ["low"]}}})


def test_isolation_forest_flags_planted_outliers(ml: PostgresML, warehouse: psycopg.Connection) -> None:
    rng = np.random.default_rng(11)
    normal = rng.normal(size=(1500, 4))
    directions = rng.normal(size=(30, 4))
    outliers = 8 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    x = np.vstack([normal, outliers])
    label = np.r_[np.zeros(1500, bool), np.ones(30, bool)]
    order = rng.permutation(x.shape[0])
    x, label = x[order], label[order]
    relation = load_table(
        warehouse,
        "monitoring_features",
        {"f1": x[:, 0], "f2": x[:, 1], "f3": x[:, 2], "f4": x[:, 3], "is_outlier": label},
        {"f1": "float8", "f2": "float8", "f3": "float8", "f4": "float8", "is_outlier": "boolean"},
    )
    result = ml.train(
        "ml_prediction_anomaly_detector_v1", "anomaly_detection", relation, "is_outlier",
        algorithm="isolation_forest", hyperparams={"contamination": 0.05, "n_estimators": 100, "max_samples": 256},
    )
    assert result.deployed and result.metrics["roc_auc"] > 0.95, result.metrics
    assert ml.predict("ml_prediction_anomaly_detector_v1", [8.0, 0.0, 0.0, 0.0]) < -0.5
    assert ml.predict("ml_prediction_anomaly_detector_v1", [0.1, -0.2, 0.0, 0.3]) > -0.5
    scores = ml.predict_batch("ml_prediction_anomaly_detector_v1", x)
    flagged = scores < -0.5
    assert flagged[label].mean() > 0.9 and flagged[~label].mean() < 0.05


def test_unlabelled_anomaly_detection_deploys_most_recent(ml: PostgresML, warehouse: psycopg.Connection) -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(400, 2))
    relation = load_table(warehouse, "unlabelled", {"a": x[:, 0], "b": x[:, 1]}, {"a": "float8", "b": "float8"})
    first = ml.train("detector_unlabelled", "anomaly_detection", relation, algorithm="isolation_forest")
    second = ml.train("detector_unlabelled", "anomaly_detection", relation, algorithm="isolation_forest")
    assert first.deployed and second.deployed and "anomaly_rate" in second.metrics
    with pytest.raises(NoDeploymentError, match="unlabelled anomaly detectors have no score; use most_recent"):
        ml.deploy("detector_unlabelled", "best_score")


def test_severity_thresholds_follow_seed_003() -> None:
    assert [severity_for(s) for s in (-0.9, -0.6, -0.4, -0.1, None)] == ["high", "medium", "low", "normal", "normal"]


def test_log_predictions_writes_log_and_alerts(warehouse: psycopg.Connection) -> None:
    result = log_predictions(
        warehouse,
        "issue_complexity_estimator_v1",
        values=[3.0, 8.0, 13.0],
        features=[{"comment_count": 1}, {"comment_count": 4}, [1.0, 2.0]],
        response_time_ms=12.4,
        anomaly_scores=[-0.2, -0.6, -0.9],
        logged_at=platform_now(),
    )
    assert (result.logged, result.anomalies, result.alerts) == (3, 2, 2)
    rows = warehouse.execute(
        "SELECT prediction_value, anomaly_score, is_anomaly, severity, response_time_ms, input_features"
        " FROM ml.ml_prediction_log WHERE model_name = 'issue_complexity_estimator_v1' ORDER BY id"
    ).fetchall()
    assert [(r[2], r[3]) for r in rows] == [(False, "normal"), (True, "medium"), (True, "high")]
    assert rows[0][4] == 12 and rows[0][5] == {"comment_count": 1} and rows[2][5] == [1.0, 2.0]
    alerts = warehouse.execute(
        "SELECT severity, alert_data, acknowledged FROM ml.ml_anomaly_alerts"
        " WHERE model_name = 'issue_complexity_estimator_v1' ORDER BY id"
    ).fetchall()
    assert [a[0] for a in alerts] == ["medium", "high"] and not any(a[2] for a in alerts)
    assert alerts[1][1]["recommended_action"].startswith("Immediate investigation required")
    assert alerts[0][1]["recommended_action"].startswith("Monitor closely")
