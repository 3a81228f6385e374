"""The anomaly detector's view of the prediction log, and scoring of logged predictions.

The seed's monitoring view (Task 5.3) feeds the raw prediction value, the model name
and the hour of every prediction to one isolation forest. Here, instead:

- the value becomes its distance beyond the model's Tukey fences (Q1 - 1.5 IQR,
  Q3 + 1.5 IQR over the window) in IQR units, 0 inside them: models' scales differ by
  six orders of magnitude (seconds vs probabilities), and a multimodal distribution
  such as story points would otherwise make whole clusters of ordinary estimates
  "isolated";
- the model name is left out: a model that predicts less often than another is not
  anomalous (with it, every rework prediction scored as an anomaly);
- hour and day of week are left out: batch scoring runs at one hour, so a re-run at
  another hour would look anomalous for no reason;
- the count of missing (null) inputs is added: a prediction made from incomplete
  features, such as an epic with no child issues yet, is worth a look.

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
from ml.models.specs import ANOMALY, SCHEMA
from ml.models.warehouse import create_view, read_frame
from ml.monitoring import is_anomaly, recommended_action

if TYPE_CHECKING:
    from ml import PostgresML

log = logging.getLogger(__name__)

MONITORING_WINDOW_DAYS = 30  # spelled out in MONITORING_FEATURES_SQL
MONITORING_FEATURES_VIEW = f"{SCHEMA}.ml_prediction_monitoring_features"
SEVERITIES = ("high", "medium", "low", "normal")

# Tuned on the planted anomalies (ml/models/planted_anomalies.py): the isolation forest isolates
# any row off the mass of all-zero rows, so each feature is 0 for what healthy models produce
# daily: values within 5 IQR of the quartiles (skewed outputs and inputs pass Tukey's 1.5 IQR
# often) and the model's usual NULL inputs. Repeats are counted as they are (REPEAT_TOLERANCE 0):
# the forest can only split on a feature that varies in its training rows, and the few natural
# repeats of healthy batches are what lets it see a stuck one (with a tolerance of 3 it found 5 of 40).
PREDICTION_FENCE_IQR = 5.0
INPUT_FENCE_IQR = 5.0
REPEAT_TOLERANCE = 0

MONITORING_FEATURES_SQL = f"""WITH recent AS (
    SELECT * FROM ml.ml_prediction_log WHERE created_at >= {CLOCK_OR_SERVER_SQL} - interval '30 days'
),

fences AS (
    SELECT
        model_name,
        percentile_cont(0.25) WITHIN GROUP (ORDER BY prediction_value) AS q1,
        percentile_cont(0.75) WITHIN GROUP (ORDER BY prediction_value) AS q3
    FROM recent
    GROUP BY model_name
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
        model_name,
        key,
        percentile_cont(0.25) WITHIN GROUP (ORDER BY value) AS q1,
        percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS q3,
        stddev_pop(value) AS sd
    FROM inputs
    GROUP BY model_name, key
),

-- per prediction, its most outlying numeric input, in that input's spreads (IQR, else sd, else 1)
input_outlyingness AS (
    SELECT
        inputs.id,
        max(
            greatest(
                f.q1 - {INPUT_FENCE_IQR} * (f.q3 - f.q1) - inputs.value,
                inputs.value - f.q3 - {INPUT_FENCE_IQR} * (f.q3 - f.q1),
                0
            ) / coalesce(nullif(f.q3 - f.q1, 0), nullif(f.sd, 0), 1)
        ) AS input_outlyingness
    FROM inputs
    INNER JOIN input_fences AS f ON f.model_name = inputs.model_name AND f.key = inputs.key
    GROUP BY inputs.id
)

SELECT
    recent.id,
    recent.created_at,
    recent.model_name,
    coalesce(
        greatest(
            fences.q1 - {PREDICTION_FENCE_IQR} * (fences.q3 - fences.q1) - recent.prediction_value,
            recent.prediction_value - fences.q3 - {PREDICTION_FENCE_IQR} * (fences.q3 - fences.q1),
            0
        ) / nullif(fences.q3 - fences.q1, 0),
        0
    ) AS prediction_outlyingness,
    coalesce(input_outlyingness.input_outlyingness, 0) AS input_outlyingness,
    -- other predictions of the same batch (model, instant) with exactly this value: a stuck model
    greatest(
        count(*) OVER (PARTITION BY recent.model_name, recent.created_at, recent.prediction_value)
        - 1 - {REPEAT_TOLERANCE},
        0
    ) AS repeated_value_count,
    -- NULL inputs beyond what the model's predictions usually have (99th percentile)
    greatest(nulls.null_count - usual_nulls.null_count, 0) AS null_feature_count,
    coalesce(recent.response_time_ms, 0) AS response_time_ms
FROM recent
INNER JOIN fences ON fences.model_name = recent.model_name
INNER JOIN nulls ON nulls.id = recent.id
INNER JOIN usual_nulls ON usual_nulls.model_name = recent.model_name
LEFT JOIN input_outlyingness ON input_outlyingness.id = recent.id"""  # noqa: S608 - the platform's clock expression


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
