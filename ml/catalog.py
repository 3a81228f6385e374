"""The engine's catalog in schema ``pgml``, mirroring upstream PostgresML's tables.

Column names follow upstream (``pgml.projects``, ``pgml.snapshots``, ``pgml.models``,
``pgml.deployments``) so SQL written against the extension's catalog (dashboards,
``metrics``, ``deployed_models``) reads the same here. Differences, on purpose:

- enums (``pgml.task``, ``pgml.sampling`` ...) are TEXT with CHECK constraints, so a
  new task needs no ``ALTER TYPE``;
- the serialized estimator lives in ``pgml.models.artifact`` (bytea) instead of
  upstream's ``pgml.files``; every worker can load it, none needs a local file; its HMAC
  is ``pgml.models.artifact_signature`` (``ml/model.py``), added to older catalogs on start;
- task ``anomaly_detection`` is an extension (upstream has none);
- timestamps come from the session's clock when the caller pinned one (setting
  ``platform.now``, as a replay of a past or future day does), else the server's, so a
  model's age is measured on the same clock that judges it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ml.errors import InvalidArgumentError, NoDeploymentError

TASKS = ("regression", "classification", "anomaly_detection")
STRATEGIES = ("best_score", "most_recent", "rollback")
SAMPLINGS = ("random", "last", "stratified")

# Serializes concurrent first-time DDL from several Dagster workers.
_DDL_LOCK_KEY = 0x70676D6C  # "pgml"

# The caller's "now" when its session pinned one, else the server's.
_NOW = "coalesce(nullif(current_setting('platform.now', true), '')::timestamptz, clock_timestamp())"

_DDL = """
CREATE SCHEMA IF NOT EXISTS pgml;
CREATE TABLE IF NOT EXISTS pgml.projects (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    task TEXT NOT NULL CHECK (task IN ('regression', 'classification', 'anomaly_detection')),
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__,
    updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__
);
CREATE UNIQUE INDEX IF NOT EXISTS projects_name_idx ON pgml.projects (name);
CREATE TABLE IF NOT EXISTS pgml.snapshots (
    id BIGSERIAL PRIMARY KEY,
    relation_name TEXT NOT NULL,
    y_column_name TEXT[],
    test_size REAL NOT NULL,
    test_sampling TEXT NOT NULL CHECK (test_sampling IN ('random', 'last', 'stratified')),
    status TEXT NOT NULL,
    columns JSONB,
    analysis JSONB,
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__,
    updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__,
    materialized BOOLEAN DEFAULT false
);
CREATE TABLE IF NOT EXISTS pgml.models (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES pgml.projects (id) ON DELETE CASCADE,
    snapshot_id BIGINT REFERENCES pgml.snapshots (id) ON DELETE SET NULL,
    num_features INT NOT NULL,
    algorithm TEXT NOT NULL,
    runtime TEXT DEFAULT 'python',
    hyperparams JSONB NOT NULL,
    status TEXT NOT NULL,
    metrics JSONB,
    search TEXT,
    search_params JSONB NOT NULL DEFAULT '{}',
    search_args JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__,
    updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__,
    artifact BYTEA,
    artifact_format TEXT,
    artifact_signature TEXT
);
CREATE INDEX IF NOT EXISTS models_project_id_idx ON pgml.models (project_id);
CREATE TABLE IF NOT EXISTS pgml.deployments (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES pgml.projects (id) ON DELETE CASCADE,
    model_id BIGINT NOT NULL REFERENCES pgml.models (id) ON DELETE CASCADE,
    strategy TEXT NOT NULL CHECK (strategy IN ('best_score', 'most_recent', 'rollback')),
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT __NOW__
);
CREATE INDEX IF NOT EXISTS deployments_project_id_created_at_idx
    ON pgml.deployments (project_id, created_at);
CREATE OR REPLACE VIEW pgml.deployed_models AS
SELECT DISTINCT ON (projects.id)
    projects.id, projects.name, projects.task, models.algorithm, models.runtime,
    models.id AS model_id, snapshots.relation_name, snapshots.y_column_name,
    snapshots.test_sampling, snapshots.test_size, models.metrics,
    deployments.created_at AS deployed_at
FROM pgml.projects
JOIN pgml.deployments ON deployments.project_id = projects.id
JOIN pgml.models ON models.id = deployments.model_id
LEFT JOIN pgml.snapshots ON snapshots.id = models.snapshot_id
ORDER BY projects.id, deployments.created_at DESC, deployments.id DESC;
""".replace("__NOW__", _NOW)

_ensured: set[tuple[str, str]] = set()
_ensured_lock = threading.Lock()


def _database_key(conn: psycopg.Connection) -> tuple[str, str]:
    return (conn.info.host or "", conn.info.dbname or "")


def ensure_catalog(conn: psycopg.Connection) -> None:
    """Create the catalog if needed (idempotent, safe under concurrent workers)."""
    key = _database_key(conn)
    with _ensured_lock:
        if key in _ensured:
            return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
        exists = conn.execute("SELECT to_regclass('pgml.deployed_models') IS NOT NULL").fetchone()
        if not (exists and exists[0]):
            conn.execute(_DDL)
        signed = conn.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = 'pgml.models'::regclass "
            "AND attname = 'artifact_signature' AND NOT attisdropped"
        ).fetchone()
        if signed is None:  # a catalog from before signing: its artifacts stay unsigned, hence refused
            conn.execute("ALTER TABLE pgml.models ADD COLUMN IF NOT EXISTS artifact_signature TEXT")
    with _ensured_lock:
        _ensured.add(key)


def project_lock(conn: psycopg.Connection, project_name: str) -> None:
    """Serialize deployment decisions of one project (call inside a transaction)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"pgml.project:{project_name}",))


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    task: str


def find_project(conn: psycopg.Connection, name: str) -> Project | None:
    row = conn.execute("SELECT id, name, task FROM pgml.projects WHERE name = %s", (name,)).fetchone()
    return Project(*row) if row else None


def get_or_create_project(conn: psycopg.Connection, name: str, task: str) -> Project:
    conn.execute(
        "INSERT INTO pgml.projects (name, task) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING", (name, task)
    )
    project = find_project(conn, name)
    assert project is not None
    if project.task != task:
        raise InvalidArgumentError(
            f"project `{name}` already exists with a different task: `{project.task}`; create a new project instead"
        )
    return project


def insert_snapshot(
    conn: psycopg.Connection,
    relation_name: str,
    y_column_name: list[str] | None,
    test_size: float,
    test_sampling: str,
    columns: list[dict[str, Any]],
    analysis: dict[str, Any],
) -> int:
    row = conn.execute(
        "INSERT INTO pgml.snapshots (relation_name, y_column_name, test_size, test_sampling, status, columns, analysis)"
        " VALUES (%s, %s, %s, %s, 'successful', %s::jsonb, %s::jsonb) RETURNING id",
        (relation_name, y_column_name, test_size, test_sampling, json.dumps(columns), json.dumps(analysis)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_model(
    conn: psycopg.Connection,
    project_id: int,
    snapshot_id: int,
    num_features: int,
    algorithm: str,
    hyperparams: dict[str, Any],
    metrics: dict[str, Any],
    artifact: bytes,
    artifact_format: str,
    artifact_signature: str,
) -> int:
    row = conn.execute(
        "INSERT INTO pgml.models (project_id, snapshot_id, num_features, algorithm, runtime, hyperparams, status,"
        " metrics, artifact, artifact_format, artifact_signature)"
        " VALUES (%s, %s, %s, %s, 'python', %s::jsonb, 'successful', %s::jsonb, %s, %s, %s) RETURNING id",
        (
            project_id,
            snapshot_id,
            num_features,
            algorithm,
            json.dumps(hyperparams),
            json.dumps(metrics),
            artifact,
            artifact_format,
            artifact_signature,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_deployment(conn: psycopg.Connection, project_id: int, model_id: int, strategy: str) -> int:
    row = conn.execute(
        "INSERT INTO pgml.deployments (project_id, model_id, strategy) VALUES (%s, %s, %s) RETURNING id",
        (project_id, model_id, strategy),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class DeployedModel:
    project_id: int
    project_name: str
    task: str
    model_id: int
    algorithm: str
    metrics: dict[str, Any]


_DEPLOYED = sql.SQL(
    "SELECT projects.id, projects.name, projects.task, models.id, models.algorithm, models.metrics"
    " FROM pgml.deployments"
    " JOIN pgml.projects ON projects.id = deployments.project_id"
    " JOIN pgml.models ON models.id = deployments.model_id"
    " WHERE projects.name = %s"
    " ORDER BY deployments.created_at DESC, deployments.id DESC LIMIT 1"
)


def deployed_model(conn: psycopg.Connection, project_name: str) -> DeployedModel | None:
    row = conn.execute(_DEPLOYED, (project_name,)).fetchone()
    if row is None:
        return None
    return DeployedModel(row[0], row[1], row[2], row[3], row[4], row[5] or {})


def require_deployed_model(conn: psycopg.Connection, project_name: str) -> DeployedModel:
    deployed = deployed_model(conn, project_name)
    if deployed is None:
        raise NoDeploymentError(f"no deployed model exists for the project named `{project_name}`")
    return deployed


def load_artifact(conn: psycopg.Connection, model_id: int) -> tuple[bytes, str, str | None]:
    """(artifact, format, signature) of a model; verify the signature before unpickling."""
    row = conn.execute(
        "SELECT artifact, artifact_format, artifact_signature FROM pgml.models WHERE id = %s", (model_id,)
    ).fetchone()
    if row is None or row[0] is None:
        raise NoDeploymentError(f"model {model_id} has no stored artifact")
    return bytes(row[0]), row[1], row[2]


def list_models(conn: psycopg.Connection, project_name: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT models.id, models.algorithm, models.status, models.metrics, models.hyperparams,"
            " models.created_at, models.snapshot_id"
            " FROM pgml.models JOIN pgml.projects ON projects.id = models.project_id"
            " WHERE projects.name = %s ORDER BY models.id",
            (project_name,),
        )
        return list(cur.fetchall())


def deployed_models(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM pgml.deployed_models ORDER BY name")
        return list(cur.fetchall())
