"""Test-set metrics with upstream's keys, and each task's default (deploy) metric.

- regression: ``r2``, ``mean_absolute_error``, ``mean_squared_error`` (multi-target:
  uniform averages, plus ``r2_per_target``);
- classification: ``f1``, ``precision``, ``recall``, ``accuracy``, ``roc_auc``,
  ``log_loss`` (binary: of the positive, i.e. larger, class; multiclass: macro
  averages and one-vs-rest ROC AUC);
- anomaly_detection (engine extension): ``anomaly_rate`` and ``mean_score`` always; with
  a label column also ``roc_auc``, ``f1``, ``precision``, ``recall`` of the flag.

``fit_time`` and ``score_time`` (seconds) are added by the engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn import metrics as skm

DEFAULT_METRIC = {"regression": "r2", "classification": "f1", "anomaly_detection": "roc_auc"}
# The seed's monitoring thresholds read "score < -0.5" as an anomaly (isolation forest
# score_samples: -1 is certainly anomalous, around -0.4 is normal).
ANOMALY_SCORE_THRESHOLD = -0.5


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    # JSONB has no NaN/Infinity: undefined metrics are stored as null.
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = _clean(value)
        elif isinstance(value, float | np.floating):
            out[key] = float(value) if math.isfinite(float(value)) else None
        else:
            out[key] = value
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, targets: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "r2": skm.r2_score(y_true, y_pred),
        "mean_absolute_error": skm.mean_absolute_error(y_true, y_pred),
        "mean_squared_error": skm.mean_squared_error(y_true, y_pred),
    }
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        per_target = skm.r2_score(y_true, y_pred, multioutput="raw_values")
        result["r2_per_target"] = dict(zip(targets, (float(v) for v in per_target), strict=True))
    return _clean(result)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> dict[str, Any]:
    """``y_true``/``y_pred`` are class indices 0..n_classes-1; ``proba`` is (n, n_classes)."""
    binary = n_classes == 2
    average = "binary" if binary else "macro"
    result: dict[str, Any] = {
        "f1": skm.f1_score(y_true, y_pred, average=average, zero_division=0),
        "precision": skm.precision_score(y_true, y_pred, average=average, zero_division=0),
        "recall": skm.recall_score(y_true, y_pred, average=average, zero_division=0),
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "roc_auc": None,
        "log_loss": None,
    }
    if proba is not None and len(np.unique(y_true)) > 1:
        labels = list(range(n_classes))
        try:
            result["roc_auc"] = (
                skm.roc_auc_score(y_true, proba[:, 1])
                if binary
                else skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels)
            )
        except ValueError:
            result["roc_auc"] = None  # a class absent from the test set
        # float32 probabilities (xgboost) miss 1.0 by rounding; renormalize before log_loss.
        clipped = np.clip(proba, 1e-15, 1.0)
        result["log_loss"] = skm.log_loss(y_true, clipped / clipped.sum(axis=1, keepdims=True), labels=labels)
    return _clean(result)


def anomaly_metrics(scores: np.ndarray, labels: np.ndarray | None) -> dict[str, Any]:
    flagged = scores < ANOMALY_SCORE_THRESHOLD
    result: dict[str, Any] = {"anomaly_rate": float(flagged.mean()), "mean_score": float(scores.mean())}
    if labels is not None:
        truth = labels.astype(bool)
        if truth.any() and not truth.all():
            result["roc_auc"] = skm.roc_auc_score(truth, -scores)
        result["f1"] = skm.f1_score(truth, flagged, zero_division=0)
        result["precision"] = skm.precision_score(truth, flagged, zero_division=0)
        result["recall"] = skm.recall_score(truth, flagged, zero_division=0)
    return _clean(result)


def default_metric(task: str) -> str:
    return DEFAULT_METRIC[task]


def score_of(metrics: dict[str, Any] | None, task: str) -> float | None:
    """The default metric as a float, or None when it is missing or undefined."""
    if not metrics:
        return None
    value = metrics.get(default_metric(task))
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
