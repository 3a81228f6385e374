"""The same API over the real ``pgml`` extension: every call is one ``pgml.*`` SQL statement.

Used when ``pg_extension`` lists ``pgml``. Known upstream differences the engine does
not share: ``best_score`` sorts metrics as text, there is no ``anomaly_detection``
task, and the ``filter`` of the seeds is applied through a temporary view.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ml import catalog
from ml.backend import DeployResult, TrainRequest, TrainResult
from ml.engine import _check_filter
from ml.errors import InvalidArgumentError, NoDeploymentError, UnsupportedOperationError
from ml.relation import resolve_relation, split_relation_name

log = logging.getLogger(__name__)


def extension_installed(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgml'").fetchone() is not None


class ExtensionBackend:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def train(self, request: TrainRequest) -> TrainResult:
        # random_state is the engine's: upstream seeds its split itself
        project_name, task, relation_name = request.project_name, request.task, request.relation_name
        y_column_name, filter = request.y_column_name, request.filter
        if task == "anomaly_detection":
            raise UnsupportedOperationError(
                f"project `{project_name}`: the pgml extension has no anomaly_detection task"
            )
        if relation_name is not None:
            split_relation_name(relation_name)
            if filter:
                _check_filter(project_name, filter)
                relation_name = self._filtered_view(project_name, relation_name, filter)
        joint = not isinstance(y_column_name, str) and y_column_name is not None
        function = "train_joint" if joint else "train"
        query = sql.SQL(
            "SELECT project, task::text, algorithm::text, deployed FROM pgml.{fn}("
            "project_name => %(project)s, task => %(task)s::pgml.task, relation_name => %(relation)s,"
            " y_column_name => %(y)s, algorithm => %(algorithm)s::pgml.algorithm,"
            " hyperparams => %(hyperparams)s::jsonb, test_size => %(test_size)s,"
            " test_sampling => %(sampling)s::pgml.sampling, automatic_deploy => %(deploy)s,"
            " preprocess => %(preprocess)s::jsonb)"
        ).format(fn=sql.Identifier(function))
        row = self.conn.execute(
            query,
            {
                "project": project_name,
                "task": task,
                "relation": relation_name,
                "y": list(y_column_name) if joint else y_column_name,  # type: ignore[arg-type]
                "algorithm": request.algorithm,
                "hyperparams": json.dumps(dict(request.hyperparams or {})),
                "test_size": request.test_size,
                "sampling": request.test_sampling,
                "deploy": request.automatic_deploy,
                "preprocess": json.dumps(dict(request.preprocess or {})),
            },
        ).fetchone()
        assert row is not None
        return TrainResult(row[0], row[1], row[2], bool(row[3]), None, self._metrics_or_empty(project_name))

    def _filtered_view(self, project_name: str, relation_name: str, where: str) -> str:
        # pgml.train takes a relation, not a filter: a session-local view carries it.
        relation = resolve_relation(self.conn, relation_name)
        view = "pgml_train_" + "".join(ch if ch.isalnum() else "_" for ch in project_name)[:40]
        self.conn.execute(
            sql.SQL("CREATE OR REPLACE TEMP VIEW {v} AS SELECT * FROM {r} WHERE ({w})").format(
                v=sql.Identifier(view), r=relation.identifier, w=sql.SQL(where)
            )
        )
        schema = self.conn.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()").fetchone()
        assert schema is not None
        return f"{schema[0]}.{view}"

    def _metrics_or_empty(self, project_name: str) -> dict[str, Any]:
        try:
            return self.metrics(project_name)
        except NoDeploymentError:
            return {}

    def deploy(self, project_name: str, strategy: str, algorithm: str | None = None) -> DeployResult:
        row = self.conn.execute(
            "SELECT project, strategy::text, algorithm::text FROM pgml.deploy(%s, %s::pgml.strategy, %s::pgml.algorithm)",
            (project_name, strategy, algorithm),
        ).fetchone()
        assert row is not None
        return DeployResult(row[0], row[1], row[2])

    def _vector(self, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        if isinstance(features, Mapping):
            raise InvalidArgumentError("the pgml extension takes features as a list in column order")
        return [float("nan") if v is None else float(v) for v in features]

    def predict(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> float:
        row = self.conn.execute("SELECT pgml.predict(%s, %s::real[])", (project_name, self._vector(features))).fetchone()
        assert row is not None
        return float(row[0])

    def predict_proba(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        row = self.conn.execute(
            "SELECT pgml.predict_proba(%s, %s::real[])", (project_name, self._vector(features))
        ).fetchone()
        assert row is not None
        return [float(v) for v in row[0]]

    def predict_joint(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        row = self.conn.execute(
            "SELECT pgml.predict_joint(%s, %s::real[])", (project_name, self._vector(features))
        ).fetchone()
        assert row is not None
        return [float(v) for v in row[0]]

    def predict_batch(
        self,
        project_name: str,
        rows: Any = None,
        *,
        relation: str | None = None,
        where: str | None = None,
        proba: bool = False,
    ) -> np.ndarray:
        if proba:
            raise UnsupportedOperationError("predict_batch(proba=True) is not offered by the pgml extension")
        if relation is not None:
            _check_filter(project_name, where)
            source = resolve_relation(self.conn, relation)
            names = self._feature_names(project_name)
            for name in names:
                source.column(name, project_name)
            array = sql.SQL("ARRAY[{}]::real[]").format(sql.SQL(", ").join(sql.Identifier(n) for n in names))
            query = sql.SQL("SELECT pgml.predict(%s, {a}) FROM {r}").format(a=array, r=source.identifier)
            if where:
                query = sql.SQL("{q} WHERE ({w})").format(q=query, w=sql.SQL(where))
            return np.array([r[0] for r in self.conn.execute(query, (project_name,))], dtype=np.float64)
        matrix = np.asarray(rows, dtype=np.float64)
        flat = [float(v) for v in matrix.reshape(-1)]
        result = self.conn.execute("SELECT pgml.predict_batch(%s, %s::real[])", (project_name, flat)).fetchall()
        return np.array([r[0] for r in result], dtype=np.float64)

    def _feature_names(self, project_name: str) -> list[str]:
        row = self.conn.execute(
            "SELECT snapshots.columns FROM pgml.deployments"
            " JOIN pgml.projects ON projects.id = deployments.project_id"
            " JOIN pgml.models ON models.id = deployments.model_id"
            " JOIN pgml.snapshots ON snapshots.id = models.snapshot_id"
            " WHERE projects.name = %s ORDER BY deployments.created_at DESC LIMIT 1",
            (project_name,),
        ).fetchone()
        if row is None:
            raise NoDeploymentError(f"no deployed model exists for the project named `{project_name}`")
        return [c["name"] for c in row[0] if not c.get("label")]

    def metrics(self, project_name: str) -> dict[str, Any]:
        return dict(catalog.require_deployed_model(self.conn, project_name).metrics)

    def models(self, project_name: str) -> list[dict[str, Any]]:
        return catalog.list_models(self.conn, project_name)

    def deployed_models(self) -> list[dict[str, Any]]:
        return catalog.deployed_models(self.conn)

    def version(self) -> str:
        row = self.conn.execute("SELECT pgml.version()").fetchone()
        assert row is not None
        return str(row[0])
