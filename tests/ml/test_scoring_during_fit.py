"""LightGBM scores the test split while it trains: the same numbers as predicting afterwards, the same model."""

from __future__ import annotations

import pickle

import numpy as np
import psycopg
import pytest
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.metrics import r2_score

from ml import PostgresML
from ml.algorithms import build_estimator, fit_scoring_test
from ml.sampling import split_indices
from tests.ml.conftest import load_table

PARAMS = {"n_estimators": 30, "num_leaves": 15, "n_jobs": 1, "random_state": 0}


def _data(n_classes: int | None, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 4))
    signal = 2 * x[:, 0] - x[:, 1] + 0.5 * rng.normal(size=n)
    if n_classes is None:
        return x, signal
    return x, np.digitize(signal, np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))


@pytest.mark.parametrize(("task", "n_classes"), [("regression", None), ("classification", 2), ("classification", 3)])
def test_the_scores_equal_predicting_after_the_fit(task: str, n_classes: int | None) -> None:
    x, y = _data(n_classes)
    x_train, y_train, x_test, y_test = x[:2250], y[:2250], x[2250:], y[2250:]
    estimator = build_estimator("p", task, "lightgbm", dict(PARAMS), 1)
    scores = fit_scoring_test(estimator, "lightgbm", task, dict(PARAMS), x_train, y_train, x_test, y_test)
    assert scores is not None
    if task == "regression":
        np.testing.assert_array_equal(scores, estimator.predict(x_test))
    else:
        proba = estimator.predict_proba(x_test)
        np.testing.assert_allclose(scores if scores.ndim == 2 else np.column_stack((1 - scores, scores)), proba)

    # The validation set changed nothing in the model: same predictions as a plain fit, also once unpickled.
    plain = (LGBMRegressor if task == "regression" else LGBMClassifier)(verbose=-1, **PARAMS).fit(x_train, y_train)
    restored = pickle.loads(pickle.dumps(estimator))  # noqa: S301 - our own object
    np.testing.assert_array_equal(restored.predict(x), plain.predict(x))


def test_metric_hyperparams_or_other_algorithms_predict_after_the_fit() -> None:
    x, y = _data(None)
    # A user metric would be evaluated (and could steer early stopping) on the test split: no
    # validation set then, the caller predicts afterwards.
    with_metric = {**PARAMS, "metric": "l1"}
    estimator = build_estimator("p", "regression", "lightgbm", with_metric, 1)
    assert fit_scoring_test(estimator, "lightgbm", "regression", with_metric, x[:2000], y[:2000], x[2000:], y[2000:]) is None
    assert estimator.n_estimators_ == PARAMS["n_estimators"] and not estimator.evals_result_
    linear = build_estimator("p", "regression", "linear", {}, 1)
    assert fit_scoring_test(linear, "linear", "regression", {}, x[:2000], y[:2000], x[2000:], y[2000:]) is None


def test_engine_metrics_are_those_of_the_deployed_model_on_the_test_split(
    ml: PostgresML, warehouse: psycopg.Connection
) -> None:
    x, y = _data(None, n=2000)
    relation = load_table(
        warehouse, "lgbm_scored", {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3], "y": y},
        dict.fromkeys(("a", "b", "c", "d", "y"), "float8"),
    )
    result = ml.train("lgbm_scored", "regression", relation, "y", algorithm="lightgbm", hyperparams=PARAMS,
                      test_size=0.25, test_sampling="last")
    _, test_idx = split_indices("lgbm_scored", 2000, 0.25, "last", seed=0)
    predicted = np.asarray(ml.predict_batch("lgbm_scored", x[test_idx]))
    assert result.metrics["r2"] == pytest.approx(r2_score(y[test_idx], predicted), abs=1e-12)
    analysis = warehouse.execute(
        "SELECT s.analysis FROM pgml.models m JOIN pgml.snapshots s ON s.id = m.snapshot_id WHERE m.id = %s",
        (result.model_id,),
    ).fetchone()
    assert analysis is not None and analysis[0]["scored_during_fit"] is True
