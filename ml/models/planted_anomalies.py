"""Labelled anomalies planted in the prediction log, and the detector's recall and precision on them.

The one catalogue of what the anomaly detector must find (seed 003 Task 5.3 names the
failures it is for). Each kind is made from the log's own recent rows of a model, so it
looks like that model's output except in the way it is broken:

- ``burst``: a burst of ``BURST_ROWS`` predictions logged at one instant, each 20-100
  interquartile ranges beyond the model's upper quartile (a model gone haywire);
- ``drift``: ``DRIFT_ROWS`` predictions whose inputs drifted: one numeric input of each is
  moved 20-60 of its spreads (IQR, or standard deviation when the IQR is 0) beyond its
  range, the prediction is one the model made (an upstream feature broke, the output
  has not shown it yet);
- ``stuck``: a batch of ``STUCK_ROWS`` predictions logged at one instant with one and the
  same value, the model's median (a model stuck on a constant).

``evaluate_detector`` plants them (seeded: the same log gives the same plants) inside a
transaction that it rolls back, scores every prediction of the monitoring window with the
deployed detector, and counts: recall = planted rows flagged / planted rows, precision =
planted rows flagged / all rows flagged (every logged row counts as normal). Nothing of it
stays in the log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import psycopg

from foundation.connections import pin_clock
from ml.models.anomaly import MONITORING_FEATURES_VIEW, MONITORING_WINDOW_DAYS, ensure_monitoring_views
from ml.models.specs import ANOMALY
from ml.models.warehouse import read_frame
from ml.monitoring import is_anomaly

if TYPE_CHECKING:
    from ml import PostgresML

KINDS = ("burst", "drift", "stuck")
BURST_ROWS, DRIFT_ROWS, STUCK_ROWS = 8, 8, 20
MODELS_PER_KIND = 2
MIN_MODEL_ROWS = 20  # a model needs this many recent predictions to plant in its name
RECALL_TARGET, PRECISION_TARGET = 0.9, 0.8


@dataclass(frozen=True)
class DetectorEvaluation:
    planted: int
    flagged_planted: int
    flagged_normal: int
    normal: int
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (flagged, planted)

    @property
    def recall(self) -> float:
        return self.flagged_planted / self.planted if self.planted else float("nan")

    @property
    def precision(self) -> float:
        flagged = self.flagged_planted + self.flagged_normal
        return self.flagged_planted / flagged if flagged else float("nan")

    @property
    def meets_targets(self) -> bool:
        return self.recall >= RECALL_TARGET and self.precision >= PRECISION_TARGET


def _numeric_inputs(features: object) -> dict[str, float]:
    if not isinstance(features, dict):
        return {}
    return {k: float(v) for k, v in features.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def plant(recent: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Planted rows (model_name, prediction_value, input_features, response_time_ms, batch, kind)
    from the recent log rows (model_name, prediction_value, input_features, response_time_ms)."""
    counts = recent["model_name"].value_counts()
    models = sorted(counts[counts >= MIN_MODEL_ROWS].index)
    if not models:
        return pd.DataFrame(columns=["model_name", "prediction_value", "input_features", "response_time_ms",
                                     "batch", "kind"])
    planted: list[dict[str, object]] = []
    for batch, kind in enumerate(k for k in KINDS for _ in range(MODELS_PER_KIND)):
        model = models[int(rng.integers(0, len(models)))]
        rows = recent[recent["model_name"] == model]
        values = rows["prediction_value"].to_numpy(dtype=float)
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        spread = (q3 - q1) or float(np.std(values)) or 1.0
        size = {"burst": BURST_ROWS, "drift": DRIFT_ROWS, "stuck": STUCK_ROWS}[kind]
        sources = rows.iloc[rng.choice(len(rows), size=min(size, len(rows)), replace=False)]
        for _, source in sources.iterrows():
            value, inputs = float(source["prediction_value"]), dict(source["input_features"] or {})
            if kind == "burst":
                value = q3 + rng.uniform(20, 100) * spread
            elif kind == "stuck":
                value = float(median)
            else:
                numeric = _numeric_inputs(inputs)
                if numeric:
                    key = sorted(numeric)[int(rng.integers(0, len(numeric)))]
                    column = pd.to_numeric(rows["input_features"].map(lambda f, k=key: (f or {}).get(k)),
                                           errors="coerce").dropna().to_numpy(dtype=float)
                    k1, k3 = np.quantile(column, [0.25, 0.75]) if column.size else (0.0, 0.0)
                    key_spread = (k3 - k1) or float(np.std(column)) or 1.0
                    inputs[key] = float(k3 + rng.uniform(20, 60) * key_spread)
            planted.append({"model_name": model, "prediction_value": value, "input_features": inputs,
                            "response_time_ms": source["response_time_ms"], "batch": batch, "kind": kind})
    return pd.DataFrame(planted)


def evaluate_detector(ml: PostgresML, seed: int = 0) -> DetectorEvaluation:
    """Recall and precision of the deployed detector on the planted set (module docstring); leaves no trace."""
    conn = ml.conn
    ensure_monitoring_views(conn)
    now = pin_clock(conn)
    recent = read_frame(conn, "SELECT model_name, prediction_value, input_features, response_time_ms"
                        " FROM ml.ml_prediction_log WHERE created_at >= %s ORDER BY id",
                        (now - timedelta(days=MONITORING_WINDOW_DAYS),))
    planted = plant(recent, np.random.default_rng(seed))
    with conn.transaction(force_rollback=True):
        planted_ids = _insert(conn, planted, now)
        frame = read_frame(conn, f"SELECT * FROM {MONITORING_FEATURES_VIEW} ORDER BY id")  # noqa: S608
        scores = np.asarray(ml.predict_batch(ANOMALY.project, frame[list(ANOMALY.features)]), dtype=np.float64)
    flagged = np.array([is_anomaly(float(s)) for s in scores], dtype=bool)
    is_planted = frame["id"].isin(planted_ids).to_numpy()
    kind_of = dict(zip(planted_ids, planted["kind"], strict=True)) if len(planted) else {}
    by_kind = {}
    for kind in KINDS:
        rows = frame["id"].map(kind_of).to_numpy() == kind
        by_kind[kind] = (int((flagged & rows).sum()), int(rows.sum()))
    return DetectorEvaluation(planted=int(is_planted.sum()), flagged_planted=int((flagged & is_planted).sum()),
                              flagged_normal=int((flagged & ~is_planted).sum()), normal=int((~is_planted).sum()),
                              by_kind=by_kind)


def _insert(conn: psycopg.Connection, planted: pd.DataFrame, now: object) -> list[int]:
    ids: list[int] = []
    for row in planted.itertuples(index=False):
        # one instant per planted batch (microseconds apart), so a burst or a stuck batch is one batch
        at = now - timedelta(microseconds=1000 + int(row.batch))  # type: ignore[operator]
        elapsed = None if pd.isna(row.response_time_ms) else int(row.response_time_ms)
        inserted = conn.execute(
            "INSERT INTO ml.ml_prediction_log (model_name, prediction_value, input_features, response_time_ms,"
            " created_at) VALUES (%s, %s, %s::jsonb, %s, %s) RETURNING id",
            (row.model_name, float(row.prediction_value), json.dumps(row.input_features), elapsed, at),
        ).fetchone()
        assert inserted is not None
        ids.append(int(inserted[0]))
    return ids
