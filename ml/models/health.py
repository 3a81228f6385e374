"""Model health (seed 003, Step 4.1.1): predicts on a sample, metric floor, prediction drift.

Drift compares the latest logged batch of a model's predictions with the deployed
model's predictions on its own training rows: the population stability index over
quantile bins of the reference, and the shift of the mean in reference standard
deviations. PSI > 0.25 is the conventional "significant shift".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from psycopg import sql

from ml import ensure_monitoring_tables
from ml.models.predictions import predict_values
from ml.models.specs import SCHEMA, ModelSpec
from ml.models.warehouse import ensure_training_view, read_ml_frame, relation

if TYPE_CHECKING:
    from ml import PostgresML

log = logging.getLogger(__name__)

PSI_BOUND = 0.25
MEAN_SHIFT_BOUND = 1.0  # in reference standard deviations
SAMPLE_ROWS = 200
_EPSILON = 1e-4  # share given to an empty bin, so the logarithm stays finite


@dataclass(frozen=True)
class Drift:
    psi: float
    mean_shift: float  # |mean(recent) - mean(reference)| / std(reference)
    reference_mean: float
    recent_mean: float
    reference_rows: int
    recent_rows: int
    bins: int

    @property
    def within_bounds(self) -> bool:
        return self.psi <= PSI_BOUND and self.mean_shift <= MEAN_SHIFT_BOUND


def psi_bins(recent_rows: int) -> int:
    # Fewer bins for small batches: with n rows and k bins an unchanged distribution
    # still scores about (k - 1) / n by sampling noise alone.
    return int(np.clip(recent_rows // 20, 3, 10))


def population_stability_index(reference: np.ndarray, recent: np.ndarray, bins: int) -> float:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / len(reference)
    actual = np.bincount(np.searchsorted(edges, recent, side="right"), minlength=len(edges) + 1) / len(recent)
    expected, actual = np.clip(expected, _EPSILON, None), np.clip(actual, _EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def measure_drift(reference: np.ndarray, recent: np.ndarray) -> Drift:
    bins = psi_bins(len(recent))
    spread = float(np.std(reference)) or 1.0
    return Drift(
        psi=population_stability_index(reference, recent, bins),
        mean_shift=abs(float(np.mean(recent)) - float(np.mean(reference))) / spread,
        reference_mean=float(np.mean(reference)),
        recent_mean=float(np.mean(recent)),
        reference_rows=len(reference),
        recent_rows=len(recent),
        bins=bins,
    )


def training_frame(ml: PostgresML, spec: ModelSpec, limit: int | None = None) -> pd.DataFrame:
    ensure_training_view(ml.conn, spec)
    query = sql.SQL("SELECT * FROM {}").format(relation(spec.training_view))
    if limit:
        query = sql.SQL("{} LIMIT {}").format(query, sql.Literal(int(limit)))
    return read_ml_frame(ml, query)


@dataclass(frozen=True)
class SamplePrediction:
    rows: int
    finite: bool
    in_range: bool
    minimum: float
    maximum: float
    mean: float

    @property
    def passed(self) -> bool:
        return self.rows > 0 and self.finite and self.in_range


def predict_sample(ml: PostgresML, spec: ModelSpec) -> SamplePrediction:
    """Predict a sample of training rows: every output finite (probabilities in [0, 1])."""
    sample = training_frame(ml, spec, SAMPLE_ROWS)
    if sample.empty:
        return SamplePrediction(0, False, False, float("nan"), float("nan"), float("nan"))
    features = sample[list(spec.features)]
    if spec.task == "classification":
        proba = np.asarray(ml.predict_batch(spec.project, features, proba=True), dtype=np.float64)
        in_range = bool(np.all((proba >= 0) & (proba <= 1)) and np.allclose(proba.sum(axis=1), 1, atol=1e-4))
        values = proba[:, -1]  # P(positive class), as the score tables report it
    else:
        values = np.asarray(ml.predict_batch(spec.project, features), dtype=np.float64)
        # isolation-forest scores are negative by construction
        in_range = bool(np.all(values <= 0)) if spec.task == "anomaly_detection" else True
    finite = bool(np.all(np.isfinite(values)))
    return SamplePrediction(len(sample), finite, in_range, float(np.min(values)), float(np.max(values)),
                            float(np.mean(values)))


def latest_logged_batch(ml: PostgresML, project: str) -> np.ndarray:
    """Prediction values of the model's most recent logged batch (one ``log_predictions`` call)."""
    ensure_monitoring_tables(ml.conn)
    frame = read_ml_frame(
        ml,
        sql.SQL(
            "SELECT prediction_value FROM {log} WHERE model_name = %s"
            " AND created_at = (SELECT max(created_at) FROM {log} WHERE model_name = %s)"
        ).format(log=sql.Identifier(SCHEMA, "ml_prediction_log")),
        (project, project),
    )
    return frame["prediction_value"].to_numpy(dtype=np.float64)


def prediction_drift(ml: PostgresML, spec: ModelSpec) -> Drift | None:
    """Drift of the latest logged predictions against predictions on the training rows; None without a log."""
    recent = latest_logged_batch(ml, spec.project)
    if recent.size == 0:
        return None
    training = training_frame(ml, spec)
    reference = predict_values(ml, spec, training[list(spec.features)])
    return measure_drift(reference, recent)
