"""Errors raised by the PostgresML client and engine.

Every message names the project (and the column, when there is one) so a failed
Dagster run says what to fix without reading a traceback.
"""

from __future__ import annotations


class PgmlError(Exception):
    """Base class: anything the ML layer refuses or cannot do."""


class InvalidRelationError(PgmlError, ValueError):
    """The relation name is malformed, hostile or does not exist."""


class InvalidColumnError(PgmlError, ValueError):
    """A target or feature column is missing, malformed or of an unsupported type."""


class InvalidArgumentError(PgmlError, ValueError):
    """An argument of train/deploy/predict is out of its domain."""


class MissingValuesError(PgmlError, ValueError):
    """NULLs met a column whose imputation is `error` (upstream's default)."""


class UnknownAlgorithmError(PgmlError, ValueError):
    """The algorithm does not exist for the project's task."""


class NoDeploymentError(PgmlError, LookupError):
    """The project has no deployed model (or does not exist)."""


class FeatureShapeError(PgmlError, ValueError):
    """A feature vector has the wrong number of values for the deployed model."""


class UnsupportedOperationError(PgmlError):
    """The operation makes no sense for this project's task (e.g. predict_proba on a regression)."""


class ArtifactSignatureError(PgmlError):
    """A stored model artifact has no valid signature: it is refused before it is unpickled."""
