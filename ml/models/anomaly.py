"""The anomaly detector's view of the prediction log, and scoring of logged predictions.

The seed's monitoring view (Task 5.3) feeds the raw prediction value, the model name
and the hour of every prediction to one isolation forest. Here, instead, the forest sees
how far a prediction lies beyond what its own model ordinarily does (``outlyingness``),
the count of missing inputs and the response time:

- ``prediction_outlyingness``: the value's distance beyond its model's Tukey fences
  (Q1 - 1.5 S, Q3 + 1.5 S) in units of S, 0 inside them. S is the IQR, else the mean
  absolute deviation from the median (a binary or mostly constant value has an IQR of 0;
  unlike the standard deviation, a few wild values barely widen it), else 1. Models' scales differ by six orders of magnitude (seconds vs
  probabilities), so each model is fenced on its own. A classifier's probability is
  measured on the logit scale, where a skewed output such as churn (most customers near
  0, a few legitimately near 1) is no longer a long tail; a "probability" outside [0, 1]
  cannot come from a working classifier and gets ``IMPOSSIBLE_OUTLYINGNESS``. The
  quartiles are taken over the model's distinct values, so a stuck model repeating one
  value cannot narrow its own fences and make every other prediction look extreme;
- ``batch_outlyingness``: the same distance for the median of the prediction's batch
  (model, instant): a batch that moved as a whole (a burst of values that one by one a
  model could produce) stands out even when no single value does;
- ``input_outlyingness``: the most outlying numeric input, beyond that input's quartiles
  by 10 of its spreads (S as above; the fence is widened by the same spread, so a binary
  input whose IQR is 0 is not "outlying" at its rarer value): an upstream feature that broke before the output shows it. Counts such as a
  power user's weekly tasks pass 5 spreads in healthy data;
- ``repeated_value_count``: other predictions of the same batch with exactly this value,
  beyond ``REPEAT_TOLERANCE`` (tree models give a few customers with near-identical
  features the same probability): a stuck model.

``outlyingness`` is the largest of the four, and it alone enters the forest: an
isolation forest cannot split on a feature that never varies in its training rows, so
a separate "stuck" or "drift" feature that is 0 for every healthy prediction would make
those failures invisible to it. Folded into one measure, the healthy window's ordinary
slight excesses (a few predictions just past a Tukey fence) give the forest its
splits, and every kind of failure lies beyond them. Left out, as before: the model name
(a model that predicts less often than another is not anomalous) and hour and day of
week (batch scoring runs at one hour; a re-run at another would look anomalous).

Logged predictions without a score are scored after each (re)training; those with
score < -0.5 are flagged and get one ``ml.ml_anomaly_alerts`` row with the severity
and recommended action of ``ml.monitoring`` (seed 003's thresholds).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg

from foundation.connections import CLOCK_OR_SERVER_SQL, pin_clock
from ml import ensure_monitoring_tables, severity_for
from ml.models.specs import ANOMALY, MODELS, SCHEMA
from ml.models.warehouse import create_view, read_frame
from ml.monitoring import is_anomaly, recommended_action

if TYPE_CHECKING:
    from ml import PostgresML

log = logging.getLogger(__name__)

MONITORING_WINDOW_DAYS = 30  # spelled out in MONITORING_FEATURES_SQL
MONITORING_FEATURES_VIEW = f"{SCHEMA}.ml_prediction_monitoring_features"
SEVERITIES = ("high", "medium", "low", "normal")

# Fences and tolerance (the detector's thresholds; measured on the planted anomalies of
# ml/models/planted_anomalies.py, docs/ml_assets.md): Tukey's 1.5 on each model's own scale
# leaves a few healthy predictions just past it in any window, which is what lets the forest
# split; inputs get 10 spreads, as heavy-tailed counts pass 5 in healthy data; four identical
# values in one batch are a stuck model, three happen in a tree model's batch of a few hundred.
PREDICTION_FENCE = 1.5
INPUT_FENCE = 10.0
REPEAT_TOLERANCE = 2
IMPOSSIBLE_OUTLYINGNESS = 1000.0
PROBABILITY_EPSILON = 1e-6  # probabilities are clipped to [eps, 1 - eps] so 0 and 1 have a finite logit
# Models whose logged output is a probability (classifiers log P(positive class)).
PROBABILITY_MODELS = tuple(spec.project for spec in MODELS if spec.task == "classification")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values) or "NULL"


def _beyond_fences(value: str, fences: str, fence: float) -> str:
    """SQL: ``value``'s distance beyond ``fences``' (q1, q3, spread) widened by ``fence`` spreads, in spreads."""
    return (f"greatest({fences}.q1 - {fence} * {fences}.spread - {value},"
            f" {value} - {fences}.q3 - {fence} * {fences}.spread, 0) / {fences}.spread")


_CLIPPED = f"least(greatest(prediction_value, {PROBABILITY_EPSILON}), 1 - {PROBABILITY_EPSILON})"

MONITORING_FEATURES_SQL = f"""WITH recent AS (
    SELECT
        *,
        model_name IN ({_sql_list(PROBABILITY_MODELS)}) AS is_probability
    FROM ml.ml_prediction_log
    WHERE created_at >= {CLOCK_OR_SERVER_SQL} - interval '30 days'
),

-- each model's output on its own scale: a probability as its logit
scaled AS (
    SELECT
        *,
        CASE WHEN is_probability THEN ln({_CLIPPED} / (1 - {_CLIPPED})) ELSE prediction_value END AS scaled_value,
        is_probability AND (prediction_value < 0 OR prediction_value > 1) AS is_impossible
    FROM recent
),

-- quartiles of each model's distinct values: a value repeated by a stuck model counts once
distinct_values AS (
    SELECT DISTINCT model_name, scaled_value FROM scaled
),

fences AS (
    SELECT
        v.model_name,
        q.q1,
        q.q3,
        coalesce(nullif(q.q3 - q.q1, 0), nullif(avg(abs(v.scaled_value - q.median)), 0), 1) AS spread
    FROM distinct_values AS v
    INNER JOIN (
        SELECT
            model_name,
            percentile_cont(0.25) WITHIN GROUP (ORDER BY scaled_value) AS q1,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY scaled_value) AS median,
            percentile_cont(0.75) WITHIN GROUP (ORDER BY scaled_value) AS q3
        FROM distinct_values
        GROUP BY model_name
    ) AS q ON q.model_name = v.model_name
    GROUP BY v.model_name, q.q1, q.q3
),

batches AS (
    SELECT
        model_name,
        created_at,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY scaled_value) AS batch_median
    FROM scaled
    GROUP BY model_name, created_at
),

nulls AS (
    SELECT
        id,
        model_name,
        CASE WHEN jsonb_typeof(input_features) = 'object'
            THEN (SELECT count(*) FROM jsonb_each(input_features) AS f WHERE f.value = 'null'::jsonb)
            ELSE 0
        END AS null_count
    FROM recent
),

usual_nulls AS (
    SELECT model_name, percentile_disc(0.99) WITHIN GROUP (ORDER BY null_count) AS null_count
    FROM nulls
    GROUP BY model_name
),

inputs AS (
    SELECT recent.id, recent.model_name, input.key, (input.value #>> '{{}}')::float8 AS value
    FROM recent
    CROSS JOIN LATERAL jsonb_each(
        CASE WHEN jsonb_typeof(recent.input_features) = 'object' THEN recent.input_features ELSE '{{}}' END
    ) AS input
    WHERE jsonb_typeof(input.value) = 'number'
),

input_fences AS (
    SELECT
        inputs.model_name,
        inputs.key,
        q.q1,
        q.q3,
        coalesce(nullif(q.q3 - q.q1, 0), nullif(avg(abs(inputs.value - q.median)), 0), 1) AS spread
    FROM inputs
    INNER JOIN (
        SELECT
            model_name,
            key,
            percentile_cont(0.25) WITHIN GROUP (ORDER BY value) AS q1,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median,
            percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS q3
        FROM inputs
        GROUP BY model_name, key
    ) AS q ON q.model_name = inputs.model_name AND q.key = inputs.key
    GROUP BY inputs.model_name, inputs.key, q.q1, q.q3
),

-- per prediction, its most outlying numeric input
input_outlyingness AS (
    SELECT
        inputs.id,
        max({_beyond_fences("inputs.value", "f", INPUT_FENCE)}) AS input_outlyingness
    FROM inputs
    INNER JOIN input_fences AS f ON f.model_name = inputs.model_name AND f.key = inputs.key
    GROUP BY inputs.id
),

measured AS (
    SELECT
        scaled.id,
        scaled.created_at,
        scaled.model_name,
        CASE WHEN scaled.is_impossible THEN {IMPOSSIBLE_OUTLYINGNESS}
            ELSE {_beyond_fences("scaled.scaled_value", "fences", PREDICTION_FENCE)}
        END AS prediction_outlyingness,
        {_beyond_fences("batches.batch_median", "fences", PREDICTION_FENCE)} AS batch_outlyingness,
        coalesce(input_outlyingness.input_outlyingness, 0) AS input_outlyingness,
        -- other predictions of the same batch (model, instant) with exactly this value: a stuck model
        greatest(
            count(*) OVER (PARTITION BY scaled.model_name, scaled.created_at, scaled.prediction_value)
            - 1 - {REPEAT_TOLERANCE},
            0
        ) AS repeated_value_count,
        -- NULL inputs beyond what the model's predictions usually have (99th percentile)
        greatest(nulls.null_count - usual_nulls.null_count, 0) AS null_feature_count,
        coalesce(scaled.response_time_ms, 0) AS response_time_ms
    FROM scaled
    INNER JOIN fences ON fences.model_name = scaled.model_name
    INNER JOIN batches ON batches.model_name = scaled.model_name AND batches.created_at = scaled.created_at
    INNER JOIN nulls ON nulls.id = scaled.id
    INNER JOIN usual_nulls ON usual_nulls.model_name = scaled.model_name
    LEFT JOIN input_outlyingness ON input_outlyingness.id = scaled.id
)

SELECT
    id,
    created_at,
    model_name,
    greatest(prediction_outlyingness, batch_outlyingness, input_outlyingness, repeated_value_count) AS outlyingness,
    prediction_outlyingness,
    batch_outlyingness,
    input_outlyingness,
    repeated_value_count,
    null_feature_count,
    response_time_ms
FROM measured"""  # noqa: S608 - the platform's clock expression and this module's constants


def ensure_monitoring_views(conn: psycopg.Connection) -> None:
    ensure_monitoring_tables(conn)
    create_view(conn, MONITORING_FEATURES_VIEW, MONITORING_FEATURES_SQL)


@dataclass(frozen=True)
class AnomalyScoring:
    scored: int
    anomalies: int
    alerts: int
    by_severity: dict[str, int]


def score_unscored_predictions(ml: PostgresML, detector_model_id: int | None) -> AnomalyScoring:
    """Score the window's logged predictions that have no anomaly score yet; alert on anomalies.

    Reads from the primary (``ml.conn``): the rows were just logged there, and a replica
    may lag behind.
    """
    conn = ml.conn
    now = pin_clock(conn)  # the view's 30-day window ends at the platform's "now"
    frame = read_frame(
        conn,
        "SELECT features.* FROM ml.ml_prediction_monitoring_features AS features"
        " JOIN ml.ml_prediction_log AS logged USING (id)"
        " WHERE logged.anomaly_score IS NULL ORDER BY features.id",
    )
    if frame.empty:
        return AnomalyScoring(0, 0, 0, dict.fromkeys(SEVERITIES, 0))
    scores = np.asarray(ml.predict_batch(ANOMALY.project, frame[list(ANOMALY.features)]), dtype=np.float64)
    severities = [severity_for(float(s)) for s in scores]
    flags = [is_anomaly(float(s)) for s in scores]
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE ml_scored (id BIGINT, anomaly_score DOUBLE PRECISION, is_anomaly BOOLEAN,"
            " severity TEXT, recommended_action TEXT) ON COMMIT DROP"
        )
        with conn.cursor() as cur, cur.copy("COPY ml_scored FROM STDIN") as copy:
            for row_id, score, flag, severity in zip(frame["id"], scores, flags, severities, strict=True):
                copy.write_row((int(row_id), float(score), flag, severity, recommended_action(severity)))
        conn.execute(
            "UPDATE ml.ml_prediction_log AS logged SET anomaly_score = scored.anomaly_score,"
            " is_anomaly = scored.is_anomaly, severity = scored.severity"
            " FROM ml_scored AS scored WHERE logged.id = scored.id"
        )
        # alert_data has the keys of ml.monitoring's alerts, plus where the alert came from.
        inserted = conn.execute(
            "INSERT INTO ml.ml_anomaly_alerts (model_name, severity, alert_data, created_at, client_id)"
            " SELECT logged.model_name, scored.severity, jsonb_build_object("
            "   'alert_type', 'ml_prediction_anomaly', 'model_name', logged.model_name,"
            "   'prediction_value', logged.prediction_value, 'anomaly_score', scored.anomaly_score,"
            "   'severity', scored.severity, 'input_features', logged.input_features,"
            "   'timestamp', %s::timestamptz, 'recommended_action', scored.recommended_action,"
            "   'prediction_log_id', logged.id, 'detector_project', %s::text, 'detector_model_id', %s::bigint),"
            " %s::timestamptz, logged.client_id"
            " FROM ml_scored AS scored JOIN ml.ml_prediction_log AS logged ON logged.id = scored.id"
            " WHERE scored.is_anomaly",
            (now, ANOMALY.project, detector_model_id, now),
        ).rowcount
    by_severity = {s: severities.count(s) for s in SEVERITIES}
    result = AnomalyScoring(len(frame), sum(flags), inserted, by_severity)
    if result.anomalies:
        log.warning("ML anomalies detected: %s", json.dumps(by_severity))
    return result
