"""PostgresML for the platform: a client of the ``pgml`` extension and a compatible engine.

Public API: ``PostgresML`` (train / deploy / predict / predict_proba / predict_batch /
predict_joint / metrics / version), ``log_predictions`` and the severity helpers of
``ml.monitoring``, and the errors of ``ml.errors``. See docs/ml.md.

Names load on first use: importing ``ml.models.specs`` (or the Dagster definitions that
declare the ML assets) does not import scikit-learn, LightGBM or XGBoost; training and
scoring do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.backend import DeployResult, TrainRequest, TrainResult
    from ml.client import PostgresML
    from ml.errors import (
        ArtifactSignatureError,
        FeatureShapeError,
        InvalidArgumentError,
        InvalidColumnError,
        InvalidRelationError,
        MissingValuesError,
        NoDeploymentError,
        PgmlError,
        UnknownAlgorithmError,
        UnsupportedOperationError,
    )
    from ml.model import MODEL_CACHE
    from ml.monitoring import LoggedPredictions, ensure_monitoring_tables, log_predictions, severity_for

_MODULES = {
    "DeployResult": "backend", "TrainRequest": "backend", "TrainResult": "backend",
    "PostgresML": "client",
    "ArtifactSignatureError": "errors", "FeatureShapeError": "errors", "InvalidArgumentError": "errors", "InvalidColumnError": "errors",
    "InvalidRelationError": "errors", "MissingValuesError": "errors", "NoDeploymentError": "errors",
    "PgmlError": "errors", "UnknownAlgorithmError": "errors", "UnsupportedOperationError": "errors",
    "MODEL_CACHE": "model",
    "LoggedPredictions": "monitoring", "ensure_monitoring_tables": "monitoring", "log_predictions": "monitoring",
    "severity_for": "monitoring",
}

__all__ = [
    "ArtifactSignatureError",
    "DeployResult",
    "FeatureShapeError",
    "InvalidArgumentError",
    "InvalidColumnError",
    "InvalidRelationError",
    "LoggedPredictions",
    "MODEL_CACHE",
    "MissingValuesError",
    "NoDeploymentError",
    "PgmlError",
    "PostgresML",
    "TrainRequest",
    "TrainResult",
    "UnknownAlgorithmError",
    "UnsupportedOperationError",
    "ensure_monitoring_tables",
    "log_predictions",
    "severity_for",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
