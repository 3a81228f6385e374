"""Score tables in schema ``ml`` (seed 003, Task 3.2), each replaced as a whole per run.

- ``ml.epic_completion_predictions``: predicted lead time and completion date per open epic;
- ``ml.story_point_estimates``: estimated story points per issue of the complexity mart;
- ``ml.pr_rework_risk``: rework probability and risk level per open pull request;
- ``ml.unified_issue_predictions``: the unified model's lead time, story points and
  rework score per open work item (not Done, not an epic) of the unified mart.

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
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from foundation.settings import now as platform_now
from ml import LoggedPredictions, log_predictions
from ml.models.specs import (
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
from ml.models.warehouse import ensure_schema, read_frame

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

SCORE_TABLES: tuple[ScoreTable, ...] = (EPIC_COMPLETION, STORY_POINTS, PR_REWORK, UNIFIED_ISSUES)


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


def score(ml: PostgresML, table: ScoreTable, read_conn: psycopg.Connection | str) -> ScoringResult:
    """Predict every row of ``table.scoring_sql`` with the deployed model, write and log it."""
    deployed = deployed_model(ml, table.spec.project)
    if deployed is None:
        raise RuntimeError(f"{table.spec.project} has no deployed model: materialize {'/'.join(table.spec.asset_path)}")
    frame = read_frame(read_conn, table.scoring_sql)
    features = frame[list(table.spec.features)]
    started = time.perf_counter()
    outputs = predict_outputs(ml, table.spec, features)
    elapsed_ms = (time.perf_counter() - started) * 1000
    now = platform_now()
    rows = table.build(frame, outputs, deployed.model_id, now)
    per_row_ms = elapsed_ms / len(frame) if len(frame) else None
    records = _json_records(features)
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


def value_counts(values: Sequence[str], levels: Sequence[str]) -> dict[str, int]:
    counts = pd.Series(list(values), dtype=object).value_counts()
    return {level: int(counts.get(level, 0)) for level in levels}
