"""Algorithm names (upstream's) mapped to library estimators, per task.

``hyperparams`` go to the estimator's constructor unchanged, except two seed-era
spellings that the libraries reject (see ``_normalize``). Multi-target regression
(a list of ``y_column_name``) is native for xgboost, linear and random_forest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ml.errors import InvalidArgumentError, UnknownAlgorithmError

log = logging.getLogger(__name__)

Factory = Callable[[dict[str, Any]], Any]


def _linear_regression(h: dict[str, Any]) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression(**h)


def _ridge(h: dict[str, Any]) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(**h)


def _lasso(h: dict[str, Any]) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(**h)


def _logistic(h: dict[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"max_iter": 1000, **h})


def _xgb_regressor(h: dict[str, Any]) -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(**{"verbosity": 0, **h})


def _xgb_classifier(h: dict[str, Any]) -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(**{"verbosity": 0, **h})


def _lgbm_regressor(h: dict[str, Any]) -> Any:
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**{"verbose": -1, **h})


def _lgbm_classifier(h: dict[str, Any]) -> Any:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(**{"verbose": -1, **h})


def _rf_regressor(h: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**{"n_jobs": -1, "random_state": 0, **h})


def _rf_classifier(h: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**{"n_jobs": -1, "random_state": 0, **h})


def _isolation_forest(h: dict[str, Any]) -> Any:
    from sklearn.ensemble import IsolationForest

    return IsolationForest(**{"random_state": 0, **h})


REGISTRY: dict[str, dict[str, Factory]] = {
    "regression": {
        "linear": _linear_regression,
        "ridge": _ridge,
        "lasso": _lasso,
        "xgboost": _xgb_regressor,
        "lightgbm": _lgbm_regressor,
        "random_forest": _rf_regressor,
    },
    "classification": {
        "linear": _logistic,
        "xgboost": _xgb_classifier,
        "lightgbm": _lgbm_classifier,
        "random_forest": _rf_classifier,
    },
    "anomaly_detection": {"isolation_forest": _isolation_forest},
}
MULTI_TARGET = frozenset({"linear", "ridge", "lasso", "xgboost", "random_forest"})


def _normalize(algorithm: str, hyperparams: dict[str, Any]) -> dict[str, Any]:
    params = dict(hyperparams)
    # Seed 003's unified model asks for "multi:squarederror", which no xgboost release
    # knows; multi-output trees use the ordinary squared error.
    if algorithm == "xgboost" and params.get("objective") == "multi:squarederror":
        log.warning("xgboost objective 'multi:squarederror' does not exist; using 'reg:squarederror'")
        params["objective"] = "reg:squarederror"
    return params


def build_estimator(project: str, task: str, algorithm: str, hyperparams: dict[str, Any], n_targets: int) -> Any:
    by_task = REGISTRY.get(task)
    if by_task is None:
        raise InvalidArgumentError(f"project `{project}`: unknown task `{task}` (use {sorted(REGISTRY)})")
    factory = by_task.get(algorithm)
    if factory is None:
        raise UnknownAlgorithmError(
            f"project `{project}`: algorithm `{algorithm}` is not available for task `{task}` "
            f"(available: {', '.join(sorted(by_task))})"
        )
    if n_targets > 1 and algorithm not in MULTI_TARGET:
        raise UnknownAlgorithmError(
            f"project `{project}`: algorithm `{algorithm}` does not support multi-target regression "
            f"(use one of {', '.join(sorted(MULTI_TARGET))})"
        )
    try:
        return factory(_normalize(algorithm, hyperparams))
    except TypeError as exc:
        raise InvalidArgumentError(f"project `{project}`: invalid hyperparams for `{algorithm}`: {exc}") from exc


def known_algorithms() -> dict[str, list[str]]:
    return {task: sorted(names) for task, names in REGISTRY.items()}
