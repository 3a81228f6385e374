"""Prediction log and anomaly alerts (seed 003, Phase 5.3), in schema ``ml`` of the warehouse.

Severity follows the seed's isolation-forest thresholds on the anomaly score (the
detector's ``predict``; lower is more anomalous): < -0.8 high, < -0.5 medium,
< -0.3 low, else normal; ``is_anomaly`` is score < -0.5 and every anomaly gets one row
in ``ml.ml_anomaly_alerts`` with the seed's recommended action.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

log = logging.getLogger(__name__)

SEVERITY_THRESHOLDS = {"high": -0.8, "medium": -0.5, "low": -0.3}
RECOMMENDED_ACTIONS = {
    "high": "Immediate investigation required - possible data drift or model degradation",
    "medium": "Monitor closely - may indicate emerging pattern changes",
    "low": "Log for analysis - minor deviation detected",
}
DEFAULT_ACTION = "Monitor normally"

_DDL = """
CREATE SCHEMA IF NOT EXISTS ml;
CREATE TABLE IF NOT EXISTS ml.ml_prediction_log (
    id BIGSERIAL PRIMARY KEY,
    model_name VARCHAR(100) NOT NULL,
    prediction_value DOUBLE PRECISION NOT NULL,
    input_features JSONB,
    anomaly_score DOUBLE PRECISION,
    is_anomaly BOOLEAN DEFAULT FALSE,
    severity VARCHAR(20) DEFAULT 'normal',
    response_time_ms INTEGER,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    client_id INTEGER
);
CREATE TABLE IF NOT EXISTS ml.ml_anomaly_alerts (
    id BIGSERIAL PRIMARY KEY,
    model_name VARCHAR(100) NOT NULL,
    severity VARCHAR(20) NOT NULL,
    alert_data JSONB NOT NULL,
    acknowledged BOOLEAN DEFAULT FALSE,
    acknowledged_by INTEGER,
    acknowledged_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    client_id INTEGER
);
CREATE INDEX IF NOT EXISTS idx_ml_prediction_log_model ON ml.ml_prediction_log (model_name, created_at, client_id);
CREATE INDEX IF NOT EXISTS idx_ml_prediction_log_anomaly
    ON ml.ml_prediction_log (is_anomaly, severity, client_id) WHERE is_anomaly = true;
CREATE INDEX IF NOT EXISTS idx_ml_anomaly_alerts_unack
    ON ml.ml_anomaly_alerts (acknowledged, severity, client_id) WHERE acknowledged = false;
"""
_DDL_LOCK_KEY = 0x6D6C6C67  # "mllg"
_ensured: set[tuple[str, str]] = set()
_ensured_lock = threading.Lock()


def ensure_monitoring_tables(conn: psycopg.Connection) -> None:
    key = (conn.info.host or "", conn.info.dbname or "")
    with _ensured_lock:
        if key in _ensured:
            return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
        conn.execute(_DDL)
    with _ensured_lock:
        _ensured.add(key)


def severity_for(anomaly_score: float | None) -> str:
    if anomaly_score is None:
        return "normal"
    for severity in ("high", "medium", "low"):
        if anomaly_score < SEVERITY_THRESHOLDS[severity]:
            return severity
    return "normal"


def is_anomaly(anomaly_score: float | None) -> bool:
    return anomaly_score is not None and anomaly_score < SEVERITY_THRESHOLDS["medium"]


def recommended_action(severity: str) -> str:
    return RECOMMENDED_ACTIONS.get(severity, DEFAULT_ACTION)


@dataclass(frozen=True)
class LoggedPredictions:
    logged: int
    anomalies: int
    alerts: int


def log_predictions(
    conn: psycopg.Connection,
    model_name: str,
    values: Sequence[float],
    features: Sequence[Mapping[str, Any] | Sequence[Any]],
    response_time_ms: float | Sequence[float] | None,
    anomaly_scores: Sequence[float | None] | None = None,
    client_id: int | None = None,
    *,
    logged_at: datetime,
) -> LoggedPredictions:
    """Append predictions to ``ml.ml_prediction_log`` (COPY) and raise alerts for anomalies.

    ``features`` are one mapping (or list) per prediction, stored as JSONB;
    ``response_time_ms`` is one number for the batch or one per prediction; ``logged_at`` is the
    caller's clock (the platform's, which a replay may pin), stamped on every row and alert.
    """
    if len(features) != len(values):
        raise ValueError(f"{len(values)} predictions but {len(features)} feature rows")
    scores = list(anomaly_scores) if anomaly_scores is not None else [None] * len(values)
    if len(scores) != len(values):
        raise ValueError(f"{len(values)} predictions but {len(scores)} anomaly scores")
    if response_time_ms is None or isinstance(response_time_ms, int | float):
        times = [response_time_ms] * len(values)
    else:
        times = list(response_time_ms)
    ensure_monitoring_tables(conn)
    alerts = []
    now = logged_at
    with conn.transaction():
        with conn.cursor() as cur, cur.copy(
            "COPY ml.ml_prediction_log (model_name, prediction_value, input_features, anomaly_score, is_anomaly,"
            " severity, response_time_ms, created_at, client_id) FROM STDIN"
        ) as copy:
            for value, feature_row, score, elapsed in zip(values, features, scores, times, strict=True):
                severity = severity_for(score)
                flagged = is_anomaly(score)
                feature_json = json.dumps(feature_row if isinstance(feature_row, Mapping) else list(feature_row))
                copy.write_row(
                    (
                        model_name,
                        float(value),
                        feature_json,
                        None if score is None else float(score),
                        flagged,
                        severity,
                        None if elapsed is None else int(round(elapsed)),
                        now,
                        client_id,
                    )
                )
                if flagged:
                    alerts.append(_alert(model_name, float(value), float(score), severity, feature_row, now))  # type: ignore[arg-type]
        if alerts:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO ml.ml_anomaly_alerts (model_name, severity, alert_data, created_at, client_id)"
                    " VALUES (%s, %s, %s::jsonb, %s, %s)",
                    [(model_name, a["severity"], json.dumps(a), now, client_id) for a in alerts],
                )
    for alert in alerts:
        log.warning("ML anomaly detected: %s", {k: alert[k] for k in ("model_name", "anomaly_score", "severity")})
    return LoggedPredictions(logged=len(values), anomalies=len(alerts), alerts=len(alerts))


def _alert(
    model_name: str, value: float, score: float, severity: str, features: Any, now: datetime
) -> dict[str, Any]:
    return {
        "alert_type": "ml_prediction_anomaly",
        "model_name": model_name,
        "prediction_value": value,
        "anomaly_score": score,
        "severity": severity,
        "input_features": features if isinstance(features, Mapping) else list(features),
        "timestamp": now.isoformat(),
        "recommended_action": recommended_action(severity),
    }
