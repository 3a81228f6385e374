"""PostgresML for the platform: a client of the ``pgml`` extension and a compatible engine.

Public API: ``PostgresML`` (train / deploy / predict / predict_proba / predict_batch /
predict_joint / metrics / version), ``log_predictions`` and the severity helpers of
``ml.monitoring``, and the errors of ``ml.errors``. See docs/ml.md.
"""

from ml.client import PostgresML
from ml.engine import DeployResult, TrainResult
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

__all__ = [
    "MODEL_CACHE",
    "ArtifactSignatureError",
    "DeployResult",
    "FeatureShapeError",
    "InvalidArgumentError",
    "InvalidColumnError",
    "InvalidRelationError",
    "LoggedPredictions",
    "MissingValuesError",
    "NoDeploymentError",
    "PgmlError",
    "PostgresML",
    "TrainResult",
    "UnknownAlgorithmError",
    "UnsupportedOperationError",
    "ensure_monitoring_tables",
    "log_predictions",
    "severity_for",
]
