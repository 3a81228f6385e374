"""Deployment rules (automatic, best_score numeric, most_recent, rollback) and refused inputs."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from ml import (
    FeatureShapeError,
    InvalidArgumentError,
    InvalidColumnError,
    InvalidRelationError,
    MissingValuesError,
    NoDeploymentError,
    PostgresML,
    UnknownAlgorithmError,
    UnsupportedOperationError,
)
from ml.sampling import split_indices
from tests.ml.conftest import load_table


@pytest.fixture(scope="module")
def small_table(warehouse: psycopg.Connection) -> str:
    rng = np.random.default_rng(5)
    x1, x2 = rng.normal(size=(2, 600))
    y = 2 * x1 + x2 + 0.3 * rng.normal(size=600)
    nullable = np.where(rng.random(600) < 0.05, None, x2).tolist()
    return load_table(
        warehouse,
        "small",
        {"x1": x1, "x2": x2, "y": y, "with_nulls": nullable},
        {"x1": "float8", "x2": "float8", "y": "float8", "with_nulls": "float8"},
    )


def _deployed_model_id(conn: psycopg.Connection, project: str) -> int:
    row = conn.execute("SELECT model_id FROM pgml.deployed_models WHERE name = %s", (project,)).fetchone()
    assert row is not None
    return int(row[0])


def test_tie_deploys_the_new_model_and_worse_does_not(ml: PostgresML, warehouse, small_table: str) -> None:
    view = "ml_test.small_no_nulls"
    warehouse.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT x1, x2, y FROM {small_table}")
    first = ml.train("deploy_tie", "regression", view, "y")
    second = ml.train("deploy_tie", "regression", view, "y")  # same data, seed, algorithm: equal r2
    assert first.deployed and second.deployed
    assert second.metrics["r2"] == first.metrics["r2"]
    assert _deployed_model_id(warehouse, "deploy_tie") == second.model_id
    worse = ml.train("deploy_tie", "regression", view, "y", algorithm="random_forest",
                     hyperparams={"n_estimators": 5, "max_depth": 1})
    assert not worse.deployed and worse.metrics["r2"] < second.metrics["r2"]
    manual = ml.train("deploy_tie", "regression", view, "y", automatic_deploy=False)
    assert not manual.deployed
    assert _deployed_model_id(warehouse, "deploy_tie") == second.model_id


def test_best_score_sorts_numerically_most_recent_and_rollback(ml: PostgresML, warehouse, small_table: str) -> None:
    view = "ml_test.small_no_nulls2"
    warehouse.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT x1, x2, y FROM {small_table}")
    ids = [ml.train("deploy_rules", "regression", view, "y", algorithm=a).model_id
           for a in ("linear", "lightgbm", "xgboost")]
    # Text ordering would rank '9.0' above '10.0'; the engine must not.
    for model_id, r2 in zip(ids, (9.0, 10.0, 2.5), strict=True):
        warehouse.execute(
            "UPDATE pgml.models SET metrics = jsonb_set(metrics, '{r2}', to_jsonb(%s::float8)) WHERE id = %s",
            (r2, model_id),
        )
    project, strategy, algorithm = ml.deploy("deploy_rules", "best_score")
    assert (project, strategy, algorithm) == ("deploy_rules", "best_score", "lightgbm")
    assert _deployed_model_id(warehouse, "deploy_rules") == ids[1]
    assert ml.deploy("deploy_rules", "best_score", algorithm="xgboost").model_id == ids[2]
    assert ml.deploy("deploy_rules", "most_recent").model_id == ids[2]
    ml.deploy("deploy_rules", "best_score")  # history: ..., xgboost, xgboost, lightgbm
    rolled = ml.deploy("deploy_rules", "rollback")
    assert rolled.model_id == ids[2]  # the most recently deployed other model, as upstream
    assert _deployed_model_id(warehouse, "deploy_rules") == ids[2]
    with pytest.raises(InvalidArgumentError, match="unknown strategy"):
        ml.deploy("deploy_rules", "fastest")
    with pytest.raises(UnknownAlgorithmError):
        ml.deploy("deploy_rules", "best_score", algorithm="isolation_forest")
    with pytest.raises(NoDeploymentError, match="does not exist"):
        ml.deploy("no_such_project", "most_recent")


def test_rollback_needs_an_earlier_deployment(ml: PostgresML, small_table: str, warehouse) -> None:
    warehouse.execute(f"CREATE OR REPLACE VIEW ml_test.small_v3 AS SELECT x1, x2, y FROM {small_table}")
    ml.train("deploy_once", "regression", "ml_test.small_v3", "y")
    with pytest.raises(NoDeploymentError, match="no qualified models"):
        ml.deploy("deploy_once", "rollback")


@pytest.mark.parametrize(
    "relation",
    ["ml_test.small; DROP TABLE ml_test.small", 'ml_test."small"', "a.b.c", "", "ml_test.small--", "1abc"],
)
def test_hostile_or_malformed_relation_names_are_refused(ml: PostgresML, relation: str) -> None:
    with pytest.raises(InvalidRelationError):
        ml.train("bad_relation", "regression", relation, "y")


def test_missing_relation_and_columns_name_the_project(ml: PostgresML, small_table: str) -> None:
    with pytest.raises(InvalidRelationError, match="does not exist"):
        ml.train("bad_inputs", "regression", "ml_test.no_such_table", "y")
    with pytest.raises(InvalidColumnError, match=r"bad_inputs.*`nope`"):
        ml.train("bad_inputs", "regression", small_table, "nope")
    with pytest.raises(InvalidColumnError, match="bad_inputs"):
        ml.train("bad_inputs", "regression", small_table, "y; drop table x")
    with pytest.raises(UnknownAlgorithmError, match=r"bad_inputs.*`deep_magic`"):
        ml.train("bad_inputs", "regression", small_table, "y", algorithm="deep_magic")
    with pytest.raises(InvalidArgumentError, match="test_sampling"):
        ml.train("bad_inputs", "regression", small_table, "y", test_sampling="alphabetical")
    with pytest.raises(InvalidArgumentError, match="too large"):
        ml.train("bad_inputs", "regression", small_table, "y", test_size=600)
    with pytest.raises(InvalidArgumentError, match="filter"):
        ml.train("bad_inputs", "regression", small_table, "y", filter="true; DROP TABLE ml_test.small")
    with pytest.raises(InvalidArgumentError, match="provide the task"):
        ml.train("bad_inputs_new", None, small_table, "y")


def test_impute_error_is_the_default_and_names_project_and_column(ml: PostgresML, warehouse: psycopg.Connection,
                                                                   small_table: str) -> None:
    with pytest.raises(MissingValuesError, match=r"project `impute_default`.*column `with_nulls`"):
        ml.train("impute_default", "regression", small_table, "y")
    # the last quarter is the test split: the training rows are the first 450, in the table's order
    result = ml.train("impute_mean", "regression", small_table, "y", preprocess={"with_nulls": {"impute": "mean"}},
                      test_sampling="last", test_size=0.25)
    assert result.deployed
    column = np.array([v for (v,) in warehouse.execute(f"SELECT with_nulls FROM {small_table}").fetchall()],
                      dtype=float)
    trained_on = column[:450]
    mean, median = np.nanmean(trained_on), np.nanmedian(trained_on)
    assert np.isnan(trained_on).sum() > 0 and abs(mean - median) > 1e-3
    # NULL at prediction time is imputed with the training mean: the prediction equals the one for
    # the mean written out, and differs from the median's, the full column's mean's and zero's
    imputed = ml.predict("impute_mean", [1.0, 0.5, None])
    assert imputed == pytest.approx(ml.predict("impute_mean", [1.0, 0.5, mean]), rel=1e-9, abs=1e-12)
    for other in (median, np.nanmean(column), 0.0):
        assert abs(imputed - ml.predict("impute_mean", [1.0, 0.5, other])) > 1e-9


def test_prediction_refusals(ml: PostgresML, warehouse, small_table: str) -> None:
    warehouse.execute(f"CREATE OR REPLACE VIEW ml_test.small_v4 AS SELECT x1, x2, y FROM {small_table}")
    ml.train("predict_rules", "regression", "ml_test.small_v4", "y")
    with pytest.raises(FeatureShapeError, match=r"expected 2 features \(x1, x2\), got 3"):
        ml.predict("predict_rules", [1.0, 2.0, 3.0])
    with pytest.raises(FeatureShapeError):
        ml.predict_batch("predict_rules", [[1.0], [2.0]])
    with pytest.raises(NoDeploymentError, match="never_trained"):
        ml.predict("never_trained", [1.0, 2.0])
    ml.train("undeployed", "regression", "ml_test.small_v4", "y", automatic_deploy=False)
    with pytest.raises(NoDeploymentError, match="undeployed"):
        ml.predict("undeployed", [1.0, 2.0])
    with pytest.raises(UnsupportedOperationError, match=r"predict_proba needs a classification project"):
        ml.predict_proba("predict_rules", [1.0, 2.0])
    with pytest.raises(InvalidArgumentError, match="different task"):
        ml.train("predict_rules", "classification", "ml_test.small_v4", "y")


def test_split_semantics() -> None:
    train, test = split_indices("p", 100, 0.2, "last")
    assert test.tolist() == list(range(80, 100)) and train.tolist() == list(range(80))
    train, test = split_indices("p", 100, 30, "random", seed=1)
    assert test.size == 30 and np.intersect1d(train, test).size == 0 and train.size + test.size == 100
    labels = np.array([0] * 90 + [1] * 10)
    _, test = split_indices("p", 100, 0.2, "stratified", stratify_on=labels, seed=3)
    assert (labels[test] == 1).sum() == 2 and test.size == 20  # minority keeps its share
    with pytest.raises(InvalidArgumentError, match="too large"):
        split_indices("p", 10, 10, "random")
