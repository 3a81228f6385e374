"""Score tables in schema ``ml`` (seed 003, Task 3.2), each replaced as a whole per run.

- ``ml.epic_completion_predictions``: predicted lead time and completion date per open epic;
- ``ml.story_point_estimates``: estimated story points per issue of the complexity mart;
- ``ml.pr_rework_risk``: rework probability and risk level per open pull request.

Every prediction is also appended to ``ml.ml_prediction_log`` with its input features,
which the anomaly detector learns from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from dagster import AssetKey
from psycopg import sql

from ml import LoggedPredictions, PostgresML, log_predictions
from orchestration.defs.ml.specs import (
    COMPLEXITY,
    FEATURES_SCHEMA,
    REWORK,
    SCHEMA,
    TRAJECTORY,
    ModelSpec,
    staging_key,
)
from orchestration.defs.ml.training import deployed_model
from orchestration.defs.ml.warehouse import ensure_schema, read_frame

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
    build: Callable[[pd.DataFrame, np.ndarray, int, datetime], pd.DataFrame]
    extra_upstream: tuple[AssetKey, ...] = ()  # read besides the model's own marts

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey([SCHEMA, self.name])

    @property
    def upstream(self) -> tuple[AssetKey, ...]:
        return (self.spec.asset_key, *self.spec.upstream, *self.extra_upstream)


def _features(spec: ModelSpec, prefix: str = "") -> str:
    return ",\n    ".join(f"{prefix}{name}" for name in spec.features)


def _epics(frame: pd.DataFrame, predicted: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
    seconds = np.clip(predicted, 0, None).round(0)  # whole seconds, so the date is exactly created + lead
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


def _issues(frame: pd.DataFrame, predicted: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
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


def _pull_requests(frame: pd.DataFrame, predicted: np.ndarray, model_id: int, now: datetime) -> pd.DataFrame:
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

# ml_pr_rework_features holds merged pull requests only (its training rows), so the open
# ones are featurised here from staging with the mart's own expressions; if the mart
# gains open PRs (a needs_scoring flag), read them from there instead.
OPEN_PR_FEATURES_SQL = """WITH pull_requests AS (
    SELECT
        *,
        count(*) OVER (
            PARTITION BY author_id ORDER BY created_at, pull_request_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS author_prior_pr_count
    FROM staging.stg_engineering__pull_requests
)
SELECT
    pr.pull_request_id,
    pr.repository_id,
    pr.pull_request_number,
    pr.created_at,
    pr.commit_count,
    pr.changed_files,
    pr.additions,
    pr.deletions,
    round(pr.deletions::numeric / nullif((pr.additions + pr.deletions)::numeric, 0), 4) AS deletion_share,
    CASE WHEN pr.has_tests THEN 1 ELSE 0 END AS has_tests,
    round((extract(epoch FROM pr.created_at - users.hired_at) / 86400)::numeric, 2) AS author_tenure_days,
    pr.author_prior_pr_count,
    length(pr.title) AS title_length,
    issues.story_points AS issue_story_points,
    extract(isodow FROM pr.created_at AT TIME ZONE 'UTC')::int AS created_day_of_week,
    extract(hour FROM pr.created_at AT TIME ZONE 'UTC')::int AS created_hour
FROM pull_requests AS pr
LEFT JOIN staging.stg_engineering__users AS users ON users.user_id = pr.author_id
LEFT JOIN staging.stg_engineering__issues AS issues ON issues.issue_id = pr.issue_id
WHERE pr.is_active
    AND pr.merged_at IS NULL
    AND pr.commit_count > 0
    AND pr.changed_files > 0
ORDER BY pr.pull_request_id"""

PR_REWORK = ScoreTable(
    name="pr_rework_risk",
    spec=REWORK,
    scoring_sql=OPEN_PR_FEATURES_SQL,
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
    extra_upstream=tuple(staging_key(f"stg_engineering__{t}") for t in ("pull_requests", "users", "issues")),
)

SCORE_TABLES: tuple[ScoreTable, ...] = (EPIC_COMPLETION, STORY_POINTS, PR_REWORK)


def predict_values(ml: PostgresML, spec: ModelSpec, features: pd.DataFrame) -> np.ndarray:
    """One prediction per row: the value for regression, P(positive class) for classification."""
    if features.empty:
        return np.zeros(0)
    if spec.task == "classification":
        return np.asarray(ml.predict_batch(spec.project, features, proba=True))[:, -1].astype(np.float64)
    return np.asarray(ml.predict_batch(spec.project, features), dtype=np.float64).reshape(len(features), -1)[:, 0]


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
        raise RuntimeError(f"{table.spec.project} has no deployed model: materialize {table.spec.asset_key.to_user_string()}")
    frame = read_frame(read_conn, table.scoring_sql)
    features = frame[list(table.spec.features)]
    started = time.perf_counter()
    predicted = predict_values(ml, table.spec, features)
    elapsed_ms = (time.perf_counter() - started) * 1000
    now = datetime.now(UTC)
    rows = table.build(frame, predicted, deployed.model_id, now)
    per_row_ms = elapsed_ms / len(frame) if len(frame) else None
    with ml.conn.transaction():  # the scores and their log entries land together or not at all
        _replace_table(ml.conn, table, rows)
        logged = log_predictions(ml.conn, table.spec.project, [float(v) for v in predicted],
                                 _json_records(features), per_row_ms)
    log.info("%s: %d rows scored by model %s in %.0f ms", table.qualified, len(rows), deployed.model_id, elapsed_ms)
    return ScoringResult(table, rows, deployed.model_id, logged, elapsed_ms / 1000)


def value_counts(values: Sequence[str], levels: Sequence[str]) -> dict[str, int]:
    counts = pd.Series(list(values), dtype=object).value_counts()
    return {level: int(counts.get(level, 0)) for level in levels}
