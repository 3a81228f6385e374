"""Score tables in schema ``ml`` (seed 003, Task 3.2), each replaced as a whole per run.

- ``ml.epic_completion_predictions``: predicted lead time and completion date per open epic;
- ``ml.story_point_estimates``: estimated story points per issue of the complexity mart;
- ``ml.pr_rework_risk``: rework probability and risk level per open pull request;
- ``ml.unified_issue_predictions``: the unified model's lead time, story points and
  rework score per open work item (not Done, not an epic) of the unified mart;
- ``ml.churn_scores``: per customer of the latest churn feature day, the churn model's
  ``churn_probability`` (seed 000), or why it has none (``score_status``).

Each reads the rows to score from its feature mart (``needs_scoring``, or every row of
the complexity mart), so features are computed in one place, dbt. Every prediction is
also appended to ``ml.ml_prediction_log`` with its input features, which the anomaly
detector learns from: one log row per scored row and output. The first output is logged
under the project's name (for the unified model its lead time, the output its health
checks watch); the unified model's story points and rework score under
``<project>:story_points`` and ``<project>:rework_indicator``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from foundation.settings import now as platform_now
from ml import LoggedPredictions, log_predictions
from ml.models.specs import (
    CHURN,
    CHURN_ROWS,
    COMPLEXITY,
    FEATURES_SCHEMA,
    REWORK,
    SCHEMA,
    TRAJECTORY,
    UNIFIED,
    UNIFIED_SOURCE,
    AssetPath,
    ModelSpec,
    unified_columns,
)
from ml.models.training import deployed_model
from ml.models.warehouse import ensure_schema, read_frame, read_ml_frame

if TYPE_CHECKING:
    from ml import PostgresML

log = logging.getLogger(__name__)

# Seed 003, Endpoint 3: risk_level = high if p > 0.7, medium if p > 0.4, else low.
HIGH_RISK, MEDIUM_RISK = 0.7, 0.4
STORY_POINT_SCALE = np.array([1, 2, 3, 5, 8, 13, 21])


def risk_level(probability: float) -> str:
    if probability > HIGH_RISK:
        return "high"
    if probability > MEDIUM_RISK:
        return "medium"
    return "low"


def nearest_story_points(estimates: np.ndarray) -> np.ndarray:
    """The planning-poker value nearest to each estimate (ties go up)."""
    edges = (STORY_POINT_SCALE[:-1] + STORY_POINT_SCALE[1:]) / 2
    return STORY_POINT_SCALE[np.searchsorted(edges, estimates, side="right")]


@dataclass(frozen=True)
class ScoreTable:
    name: str  # ml.<name>
    spec: ModelSpec
    scoring_sql: str  # identifiers + the model's features, one row per thing to score
    key: str  # identifier column, ordering the rows
    ddl: str  # columns of the score table
    # (scored rows, outputs (rows x predict_outputs columns), model id, now) -> score table rows
    build: Callable[[pd.DataFrame, np.ndarray, int, datetime], pd.DataFrame]
    # Per row, why it cannot be scored ("" when it can): such rows get NaN outputs and no log entry.
    unscorable: Callable[[pd.DataFrame], pd.Series] | None = None

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @property
    def asset_path(self) -> AssetPath:
        return (SCHEMA, self.name)

    @property
    def upstream(self) -> tuple[AssetPath, ...]:
        return (self.spec.asset_path, *self.spec.upstream)


def _features(spec: ModelSpec, prefix: str = "") -> str:
    return ",\n    ".join(f"{prefix}{name}" for name in spec.features)


def _epics(frame: pd.DataFrame, outputs: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
    seconds = np.clip(outputs[:, 0], 0, None).round(0)  # whole seconds, so the date is exactly created + lead
    completion = pd.to_datetime(frame["created_at"], utc=True) + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame({
        "epic_id": frame["epic_id"],
        "epic_key": frame["epic_key"],
        "created_at": frame["created_at"],
        "predicted_lead_time_seconds": seconds,
        "predicted_lead_time_days": (seconds / 86400).round(2),
        "predicted_completion_at": completion,
        # an open epic whose predicted date has passed is running late
        "is_overdue": completion < pd.Timestamp(now),
        "model_id": model_id,
        "predicted_at": now,
    })


def _issues(frame: pd.DataFrame, outputs: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
    predicted = outputs[:, 0]
    return pd.DataFrame({
        "issue_id": frame["issue_id"],
        "issue_key": frame["issue_key"],
        "current_story_points": frame["current_story_points"].astype("Int64"),
        "estimated_story_points": predicted.round(1),
        "suggested_story_points": nearest_story_points(predicted),
        "needs_scoring": frame["needs_scoring"],
        "model_id": model_id,
        "predicted_at": now,
    })


def _pull_requests(frame: pd.DataFrame, outputs: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
    predicted = outputs[:, 0]
    return pd.DataFrame({
        "pull_request_id": frame["pull_request_id"],
        "repository_id": frame["repository_id"],
        "pull_request_number": frame["pull_request_number"],
        "created_at": frame["created_at"],
        "rework_probability": predicted.round(4),
        "risk_level": [risk_level(p) for p in predicted],
        "model_id": model_id,
        "predicted_at": now,
    })


def _unified_issues(frame: pd.DataFrame, outputs: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
    predicted = dict(zip(UNIFIED.targets, outputs.T, strict=True))
    seconds = np.clip(predicted["total_lead_time_seconds"], 0, None).round(0)
    points = np.clip(predicted["story_points"], 0, None)
    return pd.DataFrame({
        "issue_id": frame["issue_id"],
        "issue_key": frame["issue_key"],
        "current_story_points": frame["current_story_points"].astype("Int64"),
        "predicted_lead_time_seconds": seconds,
        "predicted_lead_time_days": (seconds / 86400).round(2),
        "predicted_story_points": points.round(1),
        "suggested_story_points": nearest_story_points(points),
        # a regression on the 0/1 label: clipped into [0, 1], a score rather than a calibrated probability
        "rework_score": np.clip(predicted["rework_indicator"], 0, 1).round(4),
        "model_id": model_id,
        "predicted_at": now,
    })


EPIC_COMPLETION = ScoreTable(
    name="epic_completion_predictions",
    spec=TRAJECTORY,
    scoring_sql=(
        f"SELECT\n    epic_id,\n    epic_key,\n    created_at,\n    {_features(TRAJECTORY)}\n"
        f"FROM {FEATURES_SCHEMA}.ml_epic_trajectory_features\nWHERE needs_scoring\nORDER BY epic_id"
    ),
    key="epic_id",
    ddl="""epic_id BIGINT PRIMARY KEY,
    epic_key TEXT,
    created_at TIMESTAMPTZ,
    predicted_lead_time_seconds DOUBLE PRECISION NOT NULL,
    predicted_lead_time_days DOUBLE PRECISION NOT NULL,
    predicted_completion_at TIMESTAMPTZ,
    is_overdue BOOLEAN,
    model_id BIGINT,
    predicted_at TIMESTAMPTZ NOT NULL""",
    build=_epics,
)

STORY_POINTS = ScoreTable(
    name="story_point_estimates",
    spec=COMPLEXITY,
    scoring_sql=(
        f"SELECT\n    issue_id,\n    issue_key,\n    story_points AS current_story_points,\n    needs_scoring,\n"
        f"    {_features(COMPLEXITY)}\nFROM {FEATURES_SCHEMA}.ml_issue_complexity_features\nORDER BY issue_id"
    ),
    key="issue_id",
    ddl="""issue_id BIGINT PRIMARY KEY,
    issue_key TEXT,
    current_story_points INTEGER,
    estimated_story_points DOUBLE PRECISION NOT NULL,
    suggested_story_points INTEGER NOT NULL,
    needs_scoring BOOLEAN,
    model_id BIGINT,
    predicted_at TIMESTAMPTZ NOT NULL""",
    build=_issues,
)

PR_REWORK = ScoreTable(
    name="pr_rework_risk",
    spec=REWORK,
    scoring_sql=(
        f"SELECT\n    pull_request_id,\n    repository_id,\n    pull_request_number,\n    created_at,\n"
        f"    {_features(REWORK)}\nFROM {FEATURES_SCHEMA}.ml_pr_rework_features\nWHERE needs_scoring\n"
        "ORDER BY pull_request_id"
    ),
    key="pull_request_id",
    ddl="""pull_request_id BIGINT PRIMARY KEY,
    repository_id BIGINT,
    pull_request_number BIGINT,
    created_at TIMESTAMPTZ,
    rework_probability DOUBLE PRECISION NOT NULL CHECK (rework_probability BETWEEN 0 AND 1),
    risk_level TEXT NOT NULL CHECK (risk_level IN ('high', 'medium', 'low')),
    model_id BIGINT,
    predicted_at TIMESTAMPTZ NOT NULL""",
    build=_pull_requests,
)

_UNIFIED_FEATURE_COLUMNS = ",\n    ".join(unified_columns(UNIFIED.features))

# One row per open work item of ml_unified_intelligence (needs_scoring: not Done, not an
# epic), with the features of the training view (UNIFIED_SOURCE, the same columns).
UNIFIED_ISSUES = ScoreTable(
    name="unified_issue_predictions",
    spec=UNIFIED,
    scoring_sql=(
        "SELECT\n    unified.issue_id,\n    unified.issue_key,\n    unified.story_points AS current_story_points,\n"
        f"    {_UNIFIED_FEATURE_COLUMNS}\nFROM {UNIFIED_SOURCE}\nWHERE unified.needs_scoring\nORDER BY unified.issue_id"
    ),
    key="issue_id",
    ddl="""issue_id BIGINT PRIMARY KEY,
    issue_key TEXT,
    current_story_points INTEGER,
    predicted_lead_time_seconds DOUBLE PRECISION NOT NULL,
    predicted_lead_time_days DOUBLE PRECISION NOT NULL,
    predicted_story_points DOUBLE PRECISION NOT NULL,
    suggested_story_points INTEGER NOT NULL,
    rework_score DOUBLE PRECISION NOT NULL CHECK (rework_score BETWEEN 0 AND 1),
    model_id BIGINT,
    predicted_at TIMESTAMPTZ NOT NULL""",
    build=_unified_issues,
)

CHURN_FEATURES_REQUIRED = tuple(name for name in CHURN.features if name not in CHURN.preprocess)


def churn_unscorable(frame: pd.DataFrame) -> pd.Series:
    """A customer without a task in the inactivity horizon has nothing to score; a NULL in a
    feature the model cannot impute is named rather than guessed."""
    missing = frame[list(CHURN_FEATURES_REQUIRED)].isna()
    reasons = missing.apply(lambda row: ",".join(c for c, absent in row.items() if absent), axis=1)
    reasons = ("missing_feature:" + reasons).where(reasons != "", "")
    return reasons.where(frame["has_history"].astype(bool), "no_history").astype(str)


def _churn(frame: pd.DataFrame, outputs: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
    probability = outputs[:, 0]
    scored = ~np.isnan(probability)
    status = frame["score_status"].where(frame["score_status"] != "", "scored")
    return pd.DataFrame({
        "customer_id": frame["customer_id"],
        "feature_day": frame["feature_day"],
        "churn_probability": pd.array(np.where(scored, probability.round(4), np.nan), dtype="Float64"),
        "risk_level": [risk_level(p) if ok else None for p, ok in zip(probability, scored, strict=True)],
        "score_status": status,
        "tasks_last_7d": frame["tasks_last_7d"],
        "avg_rating_last_7d": frame["avg_rating_last_7d"],
        "days_inactive": frame["days_inactive"],
        "trial_outcome": frame["trial_outcome"],
        "model_id": model_id,
        "predicted_at": now,
    })


# One row per customer of a feature day (the latest by default; %(feature_day)s replays another).
CHURN_SCORES = ScoreTable(
    name="churn_scores",
    spec=CHURN,
    scoring_sql=(
        f"SELECT\n    customer_id,\n    day AS feature_day,\n    has_history,\n    {_features(CHURN)}\n"
        f"FROM {CHURN_ROWS}\n"
        "WHERE CASE WHEN %(feature_day)s::date IS NULL THEN is_latest_day ELSE day = %(feature_day)s::date END\n"
        "ORDER BY customer_id"
    ),
    key="customer_id",
    ddl="""customer_id BIGINT PRIMARY KEY,
    feature_day DATE NOT NULL,
    churn_probability DOUBLE PRECISION CHECK (churn_probability BETWEEN 0 AND 1),
    risk_level TEXT CHECK (risk_level IN ('high', 'medium', 'low')),
    score_status TEXT NOT NULL,
    tasks_last_7d BIGINT,
    avg_rating_last_7d DOUBLE PRECISION,
    days_inactive INTEGER,
    trial_outcome INTEGER,
    model_id BIGINT,
    predicted_at TIMESTAMPTZ NOT NULL,
    CHECK ((score_status = 'scored') = (churn_probability IS NOT NULL))""",
    build=_churn,
    unscorable=churn_unscorable,
)

SCORE_TABLES: tuple[ScoreTable, ...] = (EPIC_COMPLETION, STORY_POINTS, PR_REWORK, UNIFIED_ISSUES, CHURN_SCORES)


def predict_outputs(ml: PostgresML, spec: ModelSpec, features: pd.DataFrame) -> np.ndarray:
    """Rows x outputs: P(positive class) for classification, one column per target for regression."""
    width = 1 if spec.task == "classification" else max(len(spec.targets), 1)
    if features.empty:
        return np.zeros((0, width))
    if spec.task == "classification":
        return np.asarray(ml.predict_batch(spec.project, features, proba=True))[:, -1:].astype(np.float64)
    return np.asarray(ml.predict_batch(spec.project, features), dtype=np.float64).reshape(len(features), -1)


def log_name(spec: ModelSpec, target: str) -> str:
    """``ml_prediction_log.model_name`` of a multi-target model's output other than its first."""
    return f"{spec.project}:{target}"


def predict_values(ml: PostgresML, spec: ModelSpec, features: pd.DataFrame) -> np.ndarray:
    """One prediction per row: the (first target's) value for regression, P(positive class) for classification."""
    return predict_outputs(ml, spec, features)[:, 0]


def _json_records(features: pd.DataFrame) -> list[dict[str, Any]]:
    # JSONB has no NaN: missing inputs are logged as null.
    return features.astype(object).where(features.notna(), None).to_dict(orient="records")


def _replace_table(conn: psycopg.Connection, table: ScoreTable, rows: pd.DataFrame) -> None:
    """Swap the whole score table in one transaction: readers see the old or the new scores."""
    ensure_schema(conn)
    identifier = sql.Identifier(SCHEMA, table.name)
    with conn.transaction():
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (\n    {}\n)").format(identifier, sql.SQL(table.ddl)))
        conn.execute(sql.SQL("TRUNCATE {}").format(identifier))
        columns = sql.SQL(", ").join(map(sql.Identifier, rows.columns))
        with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(identifier, columns)) as copy:
            for record in rows.astype(object).where(rows.notna(), None).itertuples(index=False, name=None):
                copy.write_row(record)


@dataclass(frozen=True)
class ScoringResult:
    table: ScoreTable
    rows: pd.DataFrame
    model_id: int
    logged: LoggedPredictions
    seconds: float


def score(ml: PostgresML, table: ScoreTable, read_conn: psycopg.Connection | str | None = None,
          params: dict[str, Any] | None = None) -> ScoringResult:
    """Predict every row of ``table.scoring_sql`` with the deployed model, write and log it.

    The rows are read on ``read_conn`` when given, else on the ML session's reads (the replica)."""
    deployed = deployed_model(ml, table.spec.project)
    if deployed is None:
        raise RuntimeError(f"{table.spec.project} has no deployed model: materialize {'/'.join(table.spec.asset_path)}")
    frame = (read_frame(read_conn, table.scoring_sql, params) if read_conn is not None
             else read_ml_frame(ml, table.scoring_sql, params))
    if table.unscorable is not None:
        frame["score_status"] = table.unscorable(frame) if len(frame) else pd.Series(dtype=str)
        scorable = (frame["score_status"] == "").to_numpy()
    else:
        scorable = np.ones(len(frame), dtype=bool)
    features = frame.loc[scorable, list(table.spec.features)]
    started = time.perf_counter()
    predicted = predict_outputs(ml, table.spec, features)
    elapsed_ms = (time.perf_counter() - started) * 1000
    outputs = np.full((len(frame), predicted.shape[1]), np.nan)
    outputs[scorable] = predicted
    now = platform_now()
    rows = table.build(frame, outputs, deployed.model_id, now)
    per_row_ms = elapsed_ms / len(features) if len(features) else None
    records = _json_records(features)
    outputs = predicted
    with ml.conn.transaction():  # the scores and their log entries land together or not at all
        _replace_table(ml.conn, table, rows)
        # The first output under the project's name (what predict_values and the drift check
        # see); a multi-target model's other outputs under "<project>:<target>".
        logged = log_predictions(ml.conn, table.spec.project, [float(v) for v in outputs[:, 0]], records, per_row_ms,
                                 logged_at=now)
        for column, target in enumerate(table.spec.targets[1:outputs.shape[1]], start=1):
            log_predictions(ml.conn, log_name(table.spec, target), [float(v) for v in outputs[:, column]], records,
                            per_row_ms, logged_at=now)
    log.info("%s: %d rows scored by model %s in %.0f ms", table.qualified, len(rows), deployed.model_id, elapsed_ms)
    return ScoringResult(table, rows, deployed.model_id, logged, elapsed_ms / 1000)


# --- churn: the feature day to score, and seed 000's at-risk list --------------------

AT_RISK_THRESHOLD = 0.7  # seed 000: get_churn_risk_customers(threshold=0.7), churn_probability > threshold
CHURN_RISK_TABLE = f"{SCHEMA}.churn_risk_customers"


class NoChurnFeatures(RuntimeError):
    """The churn feature mart has no rows for the day asked (or none at all)."""


def check_churn_feature_day(read_conn: psycopg.Connection | str, feature_day: date | None) -> date:
    """The day ml.churn_scores will score: ``feature_day`` or the latest, refused when it has no rows."""
    frame = read_frame(read_conn, "SELECT min(day) AS first, max(day) AS last, count(*) FILTER (WHERE day ="
                       " coalesce(%(day)s::date, (SELECT max(day) FROM marts.customer_churn_features))) AS rows"
                       " FROM marts.customer_churn_features", {"day": feature_day})
    first, last, rows = frame.iloc[0]["first"], frame.iloc[0]["last"], int(frame.iloc[0]["rows"])
    if last is None or pd.isna(last):
        raise NoChurnFeatures("marts.customer_churn_features has no rows: run the daily pipeline first")
    if rows == 0:
        raise NoChurnFeatures(f"marts.customer_churn_features has no rows for {feature_day} (its days run "
                              f"{first} .. {last}): build that day's marts or score another day")
    return feature_day or last


def write_churn_risk_customers(conn: psycopg.Connection) -> pd.DataFrame:
    """Replace ml.churn_risk_customers: the customers of ml.churn_scores above the threshold, riskiest first."""
    ensure_schema(conn)
    with conn.transaction():
        conn.execute(f"DROP TABLE IF EXISTS {CHURN_RISK_TABLE}")
        conn.execute(
            f"CREATE TABLE {CHURN_RISK_TABLE} AS"  # noqa: S608 - names of this module
            " SELECT scores.customer_id, customers.customer_name, customers.company, customers.industry,"
            " scores.churn_probability, scores.feature_day, scores.days_inactive, scores.tasks_last_7d,"
            " scores.avg_rating_last_7d, scores.trial_outcome, scores.model_id, scores.predicted_at"
            f" FROM {CHURN_SCORES.qualified} AS scores"
            " LEFT JOIN staging.stg_marketplace__customers AS customers USING (customer_id)"
            f" WHERE scores.churn_probability > {float(AT_RISK_THRESHOLD)}"  # DDL takes no parameters
            " ORDER BY scores.churn_probability DESC, scores.customer_id"
        )
        conn.execute(f"ALTER TABLE {CHURN_RISK_TABLE} ADD PRIMARY KEY (customer_id)")
    return read_frame(conn, f"SELECT * FROM {CHURN_RISK_TABLE} ORDER BY churn_probability DESC, customer_id")  # noqa: S608


def value_counts(values: Sequence[str], levels: Sequence[str]) -> dict[str, int]:
    counts = pd.Series(list(values), dtype=object).value_counts()
    return {level: int(counts.get(level, 0)) for level in levels}
