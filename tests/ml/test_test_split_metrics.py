"""The metrics a training stores are those of the trained model on its test split."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from sklearn.metrics import f1_score, r2_score

from ml import PostgresML
from ml.sampling import split_indices
from tests.ml.conftest import load_table

PARAMS = {"n_estimators": 30, "num_leaves": 15, "n_jobs": 1, "random_state": 0}
N = 2000


def _table(warehouse: psycopg.Connection, name: str, classes: int | None) -> tuple[str, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.5 * rng.normal(size=N)
    if classes is not None:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, classes + 1)[1:-1])).astype(float)
    relation = load_table(warehouse, name, {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y},
                          dict.fromkeys(("a", "b", "c", "y"), "float8"))
    return relation, x, y


def test_regression_metrics_are_the_deployed_models_on_the_test_split(
    ml: PostgresML, warehouse: psycopg.Connection
) -> None:
    relation, x, y = _table(warehouse, "split_regression", None)
    result = ml.train("split_regression", "regression", relation, "y", algorithm="lightgbm", hyperparams=PARAMS,
                      test_size=0.25, test_sampling="last")
    _, test = split_indices("split_regression", N, 0.25, "last")
    predicted = np.asarray(ml.predict_batch("split_regression", x[test]))
    assert result.metrics["r2"] == pytest.approx(r2_score(y[test], predicted), abs=1e-12)


@pytest.mark.parametrize(("algorithm", "classes"), [("lightgbm", 2), ("lightgbm", 3), ("random_forest", 2),
                                                    ("linear", 3), ("xgboost", 2)])
def test_classification_metrics_are_the_deployed_models_predictions(
    ml: PostgresML, warehouse: psycopg.Connection, algorithm: str, classes: int
) -> None:
    """The test split is scored once (probabilities, then their most probable class): the
    same classes as the model's own predict, which predict_batch serves."""
    project = f"split_{algorithm}_{classes}"
    relation, x, y = _table(warehouse, project, classes)
    params = PARAMS if algorithm == "lightgbm" else {}
    result = ml.train(project, "classification", relation, "y", algorithm=algorithm, hyperparams=params,
                      test_size=0.25, test_sampling="last")
    _, test = split_indices(project, N, 0.25, "last")
    predicted = np.asarray(ml.predict_batch(project, x[test]))
    average = "binary" if classes == 2 else "macro"
    assert result.metrics["f1"] == pytest.approx(f1_score(y[test], predicted, average=average), abs=1e-12)
