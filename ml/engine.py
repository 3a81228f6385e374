"""The PostgresML-compatible engine: upstream's train/deploy/predict semantics in Python.

Data is read with one ADBC query (Arrow, columnar), models are fitted in-process and
stored serialized in ``pgml.models`` so any worker can predict; the deployment rules
are upstream's (see ``deploy`` and ``_should_deploy``), except that ``best_score``
sorts numerically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from ml import catalog
from ml.algorithms import REGISTRY, build_estimator
from ml.backend import DeployResult, TrainRequest, TrainResult
from ml.errors import (
    InvalidArgumentError,
    InvalidColumnError,
    NoDeploymentError,
    PgmlError,
    UnknownAlgorithmError,
    UnsupportedOperationError,
)
from ml.io import ArrowReader, conninfo_of
from ml.metrics import anomaly_metrics, classification_metrics, default_metric, regression_metrics, score_of
from ml.model import (
    ARTIFACT_FORMAT,
    MODEL_CACHE,
    ModelCache,
    TrainedModel,
    library_versions,
    loads,
    sign_artifact,
    signing_key_bytes,
)
from ml.preprocess import FeaturePipeline, FittedColumn, parse_column_spec
from ml.relation import Relation, resolve_relation, validate_identifier
from ml.sampling import split_indices

log = logging.getLogger(__name__)

ENGINE_VERSION = "2.10.0-compat+engine.0.1.0"  # upstream API level this engine mirrors


def _target_names(project: str, y_column_name: str | Sequence[str] | None, task: str) -> list[str]:
    if y_column_name is None:
        if task == "anomaly_detection":
            return []
        raise InvalidColumnError(f"project `{project}`: y_column_name is required for task `{task}`")
    names = [y_column_name] if isinstance(y_column_name, str) else list(y_column_name)
    if not names:
        raise InvalidColumnError(f"project `{project}`: y_column_name is empty")
    for name in names:
        try:
            validate_identifier(name, "column name")
        except PgmlError as exc:
            raise InvalidColumnError(f"project `{project}`: invalid y_column_name {name!r}") from exc
    if len(names) > 1 and task != "regression":
        raise InvalidArgumentError(f"project `{project}`: several y columns need task `regression`")
    return names


def _select_list(relation: Relation, names: Sequence[str], kinds: Mapping[str, str]) -> sql.Composable:
    # NUMERIC and booleans become float8 in SQL, so Arrow hands over plain doubles.
    items = []
    for name in names:
        target_type = sql.SQL("text") if kinds[name] in ("text", "categorical") else sql.SQL("float8")
        cast = sql.SQL("::int") if kinds[name] == "bool" else sql.SQL("")
        items.append(
            sql.SQL("{col}{cast}::{type} AS {col}").format(col=sql.Identifier(name), cast=cast, type=target_type)
        )
    return sql.SQL(", ").join(items)


def _check_filter(project: str, where: str | None) -> None:
    # The filter is trusted SQL from code (as in the seeds), read on a read-only session;
    # a statement separator is still refused so it cannot smuggle a second statement.
    if where is not None and (";" in where or not where.strip()):
        raise InvalidArgumentError(f"project `{project}`: invalid filter {where!r}")


def _source_query(relation: Relation, columns: sql.Composable, where: str | None) -> sql.Composable:
    query = sql.SQL("SELECT {cols} FROM {rel}").format(cols=columns, rel=relation.identifier)
    if where:
        query = sql.SQL("{q} WHERE ({w})").format(q=query, w=sql.SQL(where))
    return query


def _numpy(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


class Engine:
    """Implements the PostgresML API against the ``pgml`` catalog of one database."""

    def __init__(
        self,
        conn: psycopg.Connection,
        read_dsn: str | None = None,
        cache: ModelCache | None = None,
        *,
        signing_key: bytes | str,
        before_read: Callable[[psycopg.Connection], object] | None = None,
    ):
        self._signing_key = signing_key_bytes(signing_key)
        self.conn = conn
        # called with the catalog's connection before each read on ``read_dsn``: a replica waits there
        # until it has replayed what this connection (a view just created, ...) has written
        self._before_read = before_read
        self.read_dsn = read_dsn or conninfo_of(conn)
        self.reader = ArrowReader(self.read_dsn)
        self.cache = cache if cache is not None else MODEL_CACHE
        catalog.ensure_catalog(conn)

    def close(self) -> None:
        self.reader.close()

    def _sync_reads(self) -> None:
        if self._before_read is not None:
            self._before_read(self.conn)

    # --- training ------------------------------------------------------------

    def train(self, request: TrainRequest) -> TrainResult:
        task, relation_name, y_column_name = request.task, request.relation_name, request.y_column_name
        algorithm, test_size, test_sampling = request.algorithm, request.test_size, request.test_sampling
        filter, preprocess = request.filter, request.preprocess
        project = self._check_project_name(request.project_name)
        existing = catalog.find_project(self.conn, project)
        if task is None:
            if existing is None:
                raise InvalidArgumentError(
                    f"project `{project}` does not exist; to create it, provide the task "
                    f"({', '.join(catalog.TASKS)})"
                )
            task = existing.task
        if task not in catalog.TASKS:
            raise InvalidArgumentError(f"project `{project}`: unknown task `{task}` ({', '.join(catalog.TASKS)})")
        if existing is not None and existing.task != task:
            raise InvalidArgumentError(
                f"project `{project}` already exists with a different task: `{existing.task}`; "
                "create a new project instead"
            )
        if relation_name is None:
            relation_name, y_column_name = self._last_snapshot_source(project, y_column_name)
        if test_sampling not in catalog.SAMPLINGS:
            raise InvalidArgumentError(
                f"project `{project}`: unknown test_sampling `{test_sampling}` ({', '.join(catalog.SAMPLINGS)})"
            )
        if algorithm not in REGISTRY[task]:
            raise UnknownAlgorithmError(
                f"project `{project}`: algorithm `{algorithm}` is not available for task `{task}` "
                f"(available: {', '.join(sorted(REGISTRY[task]))})"
            )
        params = dict(request.hyperparams or {})
        _check_filter(project, filter)
        targets = _target_names(project, y_column_name, task)
        relation = resolve_relation(self.conn, relation_name)
        target_columns = [relation.column(name, project) for name in targets]
        pipeline = self._pipeline(project, relation, targets, preprocess or {})
        kinds = {c.name: c.kind for c in pipeline.columns}
        for column in target_columns:
            if column.kind == "unsupported" or (column.kind == "text" and task == "regression"):
                raise InvalidColumnError(
                    f"project `{project}`: target column `{column.name}` has type {column.pg_type}, "
                    f"unsupported for task `{task}`"
                )
            kinds[column.name] = column.kind

        started = time.perf_counter()
        self._sync_reads()
        table = self.reader.fetch(
            _source_query(relation, _select_list(relation, [*pipeline.names, *targets], kinds), filter), self.conn
        )
        read_seconds = time.perf_counter() - started
        if table.num_rows == 0:
            raise InvalidArgumentError(f"project `{project}`: relation `{relation.qualified}` returned no rows")
        data = {name: _numpy(table, name) for name in pipeline.names}
        y, classes, numeric_classes = self._labels(project, task, table, targets)

        stratify = y if task == "classification" else (y if task == "anomaly_detection" and targets else None)
        train_idx, test_idx = split_indices(
            project, table.num_rows, test_size, test_sampling, stratify_on=stratify, seed=request.random_state
        )
        first_target = None if y is None else (y if y.ndim == 1 else y[:, 0])[train_idx]
        pipeline.fit({n: v[train_idx] for n, v in data.items()}, first_target)
        x_train = pipeline.transform({n: v[train_idx] for n, v in data.items()})
        x_test = pipeline.transform({n: v[test_idx] for n, v in data.items()})

        estimator = build_estimator(project, task, algorithm, params, len(targets))
        started = time.perf_counter()
        try:
            if task == "anomaly_detection":
                estimator.fit(x_train)
            else:
                assert y is not None
                estimator.fit(x_train, y[train_idx])
        except PgmlError:
            raise
        except Exception as exc:  # library errors (bad hyperparams, degenerate data)
            raise PgmlError(f"project `{project}`: {algorithm} training failed: {exc}") from exc
        fit_time = time.perf_counter() - started

        model = TrainedModel(
            project=project,
            task=task,
            algorithm=algorithm,
            estimator=estimator,
            pipeline=pipeline,
            targets=targets,
            classes=classes,
            numeric_classes=numeric_classes,
            versions=library_versions(),
        )
        started = time.perf_counter()
        metrics = self._score(model, x_test, None if y is None else y[test_idx], len(classes))
        metrics["score_time"] = time.perf_counter() - started
        metrics["fit_time"] = fit_time
        analysis = {
            "samples": int(table.num_rows),
            "train_rows": int(train_idx.size),
            "test_rows": int(test_idx.size),
            "read_seconds": read_seconds,
            "features_width": pipeline.width,
            "filter": filter,
        }
        model_id, deployed = self._store(
            project, task, relation, targets, test_size, test_sampling, pipeline, algorithm, params, metrics,
            analysis, model, request.automatic_deploy,
        )
        log.info(
            "trained project %s: %s %s on %d rows, %s=%s, deployed=%s",
            project, task, algorithm, table.num_rows, default_metric(task), metrics.get(default_metric(task)), deployed,
        )
        return TrainResult(project, task, algorithm, deployed, model_id, metrics)

    @staticmethod
    def _check_project_name(project_name: str) -> str:
        if not isinstance(project_name, str) or not project_name.strip() or len(project_name) > 200:
            raise InvalidArgumentError(f"invalid project name {project_name!r}")
        return project_name

    def _last_snapshot_source(self, project: str, y_column_name: Any) -> tuple[str, Any]:
        row = self.conn.execute(
            "SELECT snapshots.relation_name, snapshots.y_column_name FROM pgml.snapshots"
            " JOIN pgml.models ON models.snapshot_id = snapshots.id"
            " JOIN pgml.projects ON projects.id = models.project_id"
            " WHERE projects.name = %s ORDER BY snapshots.id DESC LIMIT 1",
            (project,),
        ).fetchone()
        if row is None:
            raise InvalidArgumentError(
                f"project `{project}`: you must pass a relation_name and y_column_name the first time you train"
            )
        ys = row[1] or None
        return row[0], y_column_name if y_column_name is not None else (ys[0] if ys and len(ys) == 1 else ys)

    def _pipeline(
        self, project: str, relation: Relation, targets: list[str], preprocess: Mapping[str, Any]
    ) -> FeaturePipeline:
        if not isinstance(preprocess, Mapping):
            raise InvalidArgumentError(f"project `{project}`: preprocess must be an object keyed by column")
        features = [c for c in relation.columns if c.name not in targets]
        if not features:
            raise InvalidColumnError(f"project `{project}`: relation `{relation.qualified}` has no feature columns")
        names = {c.name for c in features}
        for key in preprocess:
            if key not in names:
                raise InvalidColumnError(
                    f"project `{project}`: preprocess names column `{key}`, which is not a feature column of "
                    f"`{relation.qualified}`"
                )
        fitted = []
        for column in features:
            if column.kind == "unsupported":
                raise InvalidColumnError(
                    f"project `{project}`: column `{column.name}` has unsupported type {column.pg_type}; "
                    "train on a view that casts it to a number or text, or leaves it out"
                )
            spec = parse_column_spec(project, column.name, preprocess.get(column.name, {}), column.kind)
            kind = column.kind
            if kind == "text":
                kind = "text" if spec.text else "categorical"
            fitted.append(FittedColumn(name=column.name, kind=kind, spec=spec))
        return FeaturePipeline(project=project, columns=fitted)

    @staticmethod
    def _labels(
        project: str, task: str, table: pa.Table, targets: list[str]
    ) -> tuple[np.ndarray | None, list[Any], bool]:
        if not targets:
            return None, [], True
        arrays = []
        for name in targets:
            column = table.column(name)
            if column.null_count:
                raise InvalidColumnError(
                    f"project `{project}`: the training labels in `{name}` contain {column.null_count} NULL values; "
                    f"filter them out, e.g. with filter => '{name} IS NOT NULL'"
                )
            arrays.append(column.to_numpy(zero_copy_only=False))
        if task == "regression":
            y = np.column_stack(arrays).astype(np.float64) if len(arrays) > 1 else arrays[0].astype(np.float64)
            return y, [], True
        raw = arrays[0]
        classes, index = np.unique(raw, return_inverse=True)
        if task == "classification" and classes.size < 2:
            raise InvalidColumnError(
                f"project `{project}`: classification needs at least 2 classes in `{targets[0]}`, found {classes.size}"
            )
        numeric = raw.dtype.kind in "biuf"
        return index.astype(np.int64), [c.item() if hasattr(c, "item") else c for c in classes], numeric

    @staticmethod
    def _score(model: TrainedModel, x_test: np.ndarray, y_test: np.ndarray | None, n_classes: int) -> dict[str, Any]:
        if model.task == "regression":
            assert y_test is not None
            return regression_metrics(y_test, model.predict_matrix(x_test), model.targets)
        if model.task == "classification":
            assert y_test is not None
            estimator = model.estimator
            proba: np.ndarray | None
            if hasattr(estimator, "predict_proba") and list(getattr(estimator, "classes_", [])) == list(range(n_classes)):
                # The classifiers' own predict is the most probable class: one pass over the
                # test split instead of predict + predict_proba (each a full pass).
                proba = model.proba_matrix(x_test)
                y_pred = np.argmax(proba, axis=1)
            else:
                y_pred = np.asarray(estimator.predict(x_test)).astype(np.int64).reshape(-1)
                proba = model.proba_matrix(x_test) if hasattr(estimator, "predict_proba") else None
            return classification_metrics(y_test, y_pred, proba, n_classes)
        scores = model.predict_matrix(x_test)
        labels = None
        if y_test is not None and model.classes:
            # The label marks anomalies; its larger class (True / 1) is "anomalous".
            labels = (y_test == len(model.classes) - 1) if len(model.classes) > 1 else np.zeros_like(y_test, bool)
        return anomaly_metrics(scores, labels)

    def _store(
        self,
        project: str,
        task: str,
        relation: Relation,
        targets: list[str],
        test_size: float,
        test_sampling: str,
        pipeline: FeaturePipeline,
        algorithm: str,
        hyperparams: dict[str, Any],
        metrics: dict[str, Any],
        analysis: dict[str, Any],
        model: TrainedModel,
        automatic_deploy: bool,
    ) -> tuple[int, bool]:
        blob = model.dumps()
        signature = sign_artifact(self._signing_key, project, ARTIFACT_FORMAT, blob)
        with self.conn.transaction():
            catalog.project_lock(self.conn, project)
            record = catalog.get_or_create_project(self.conn, project, task)
            snapshot_id = catalog.insert_snapshot(
                self.conn,
                relation.qualified,
                targets or None,
                float(test_size),
                test_sampling,
                [c.describe() for c in pipeline.columns],
                analysis,
            )
            model_id = catalog.insert_model(
                self.conn, record.id, snapshot_id, len(pipeline.columns), algorithm, hyperparams, metrics, blob,
                ARTIFACT_FORMAT, signature,
            )
            current = catalog.deployed_model(self.conn, project)
            deploy = automatic_deploy and self._should_deploy(task, metrics, current)
            if deploy:
                catalog.insert_deployment(self.conn, record.id, model_id, "most_recent")
        self.cache.put(model_id, model)
        return model_id, deploy

    @staticmethod
    def _should_deploy(task: str, new: dict[str, Any], current: catalog.DeployedModel | None) -> bool:
        """Upstream's rule: deploy unless the deployed model's default metric is strictly better."""
        if current is None:
            return True
        new_score, old_score = score_of(new, task), score_of(current.metrics, task)
        if task == "anomaly_detection" and (new_score is None or old_score is None):
            return True  # unlabelled detectors have no score: the most recent wins
        if old_score is None:
            return True
        if new_score is None:
            return False
        return not old_score > new_score

    # --- deployment ----------------------------------------------------------

    def deploy(self, project_name: str, strategy: str, algorithm: str | None = None) -> DeployResult:
        project = catalog.find_project(self.conn, project_name)
        if project is None:
            raise NoDeploymentError(f"project named `{project_name}` does not exist")
        if strategy not in catalog.STRATEGIES:
            raise InvalidArgumentError(
                f"project `{project_name}`: unknown strategy `{strategy}` ({', '.join(catalog.STRATEGIES)})"
            )
        if algorithm is not None and algorithm not in REGISTRY[project.task]:
            raise UnknownAlgorithmError(
                f"project `{project_name}`: algorithm `{algorithm}` is not available for task `{project.task}`"
            )
        with self.conn.transaction():
            catalog.project_lock(self.conn, project_name)
            row = self.conn.execute(self._candidate_query(strategy, algorithm is not None, project.task),
                                    self._candidate_params(strategy, project, algorithm)).fetchone()
            if row is None:
                hint = " (unlabelled anomaly detectors have no score; use most_recent)" if (
                    strategy == "best_score" and project.task == "anomaly_detection") else ""
                raise NoDeploymentError(
                    f"project `{project_name}`: no qualified models exist for a `{strategy}` deployment{hint}"
                )
            model_id, model_algorithm = row
            catalog.insert_deployment(self.conn, project.id, model_id, strategy)
        log.info("deployed model %s (%s) of project %s by %s", model_id, model_algorithm, project_name, strategy)
        return DeployResult(project_name, strategy, model_algorithm, model_id)

    @staticmethod
    def _candidate_query(strategy: str, by_algorithm: bool, task: str) -> sql.Composed:
        algorithm_filter = sql.SQL(" AND models.algorithm = %(algorithm)s") if by_algorithm else sql.SQL("")
        base = sql.SQL(
            "SELECT models.id, models.algorithm FROM pgml.models"
            " WHERE models.project_id = %(project_id)s AND models.status = 'successful'{f}"
        ).format(f=algorithm_filter)
        if strategy == "best_score":
            # Numeric ordering: upstream orders metrics->>'r2' as text, so '9.0' beat '10.0'.
            metric = sql.Literal(default_metric(task))
            score = sql.SQL(
                "CASE WHEN jsonb_typeof(models.metrics->{m}) = 'number' THEN (models.metrics->>{m})::float8 END"
            ).format(m=metric)
            return sql.SQL("{base} AND {score} IS NOT NULL ORDER BY {score} DESC, models.id DESC LIMIT 1").format(
                base=base, score=score
            )
        if strategy == "most_recent":
            return sql.SQL("{base} ORDER BY models.created_at DESC, models.id DESC LIMIT 1").format(base=base)
        # rollback (upstream): the most recently deployed model other than the current one.
        return sql.SQL(
            "SELECT models.id, models.algorithm FROM pgml.deployments"
            " JOIN pgml.models ON models.id = deployments.model_id"
            " WHERE deployments.project_id = %(project_id)s{f}"
            " AND models.id <> (SELECT d.model_id FROM pgml.deployments d WHERE d.project_id = %(project_id)s"
            " ORDER BY d.created_at DESC, d.id DESC LIMIT 1)"
            " ORDER BY deployments.created_at DESC, deployments.id DESC LIMIT 1"
        ).format(f=algorithm_filter)

    @staticmethod
    def _candidate_params(strategy: str, project: catalog.Project, algorithm: str | None) -> dict[str, Any]:
        return {"project_id": project.id, "algorithm": algorithm}

    # --- prediction ----------------------------------------------------------

    def deployed(self, project_name: str) -> tuple[int, TrainedModel]:
        """The deployed model of the project, unpickled once per process and model id."""
        deployed = catalog.require_deployed_model(self.conn, project_name)
        model = self.cache.get(deployed.model_id)
        if model is None:
            blob, artifact_format, signature = catalog.load_artifact(self.conn, deployed.model_id)
            model = loads(blob, artifact_format, key=self._signing_key, project=deployed.project_name,
                          model_id=deployed.model_id, signature=signature)
            self.cache.loads += 1
            self.cache.put(deployed.model_id, model)
        return deployed.model_id, model

    def _one_row(self, model: TrainedModel, features: Sequence[Any] | Mapping[str, Any]) -> np.ndarray:
        if isinstance(features, Mapping):
            missing = [n for n in model.feature_names if n not in features]
            if missing:
                raise InvalidColumnError(f"project `{model.project}`: features lack columns {missing}")
            features = [features[n] for n in model.feature_names]
        if isinstance(features, str | bytes) or not isinstance(features, Sequence | np.ndarray):
            raise InvalidArgumentError(f"project `{model.project}`: features must be a list of values")
        return model.pipeline.transform_rows([list(features)])

    def predict(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> float:
        _, model = self.deployed(project_name)
        if model.joint:
            raise UnsupportedOperationError(
                f"project `{project_name}` predicts {len(model.targets)} targets: use predict_joint"
            )
        return float(model.predict_matrix(self._one_row(model, features))[0])

    def predict_proba(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        _, model = self.deployed(project_name)
        return [float(v) for v in model.proba_matrix(self._one_row(model, features))[0]]

    def predict_joint(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        _, model = self.deployed(project_name)
        if not model.joint:
            raise UnsupportedOperationError(f"project `{project_name}` has a single target: use predict")
        return [float(v) for v in np.asarray(model.predict_matrix(self._one_row(model, features)))[0]]

    def predict_batch(
        self,
        project_name: str,
        rows: Any = None,
        *,
        relation: str | None = None,
        where: str | None = None,
        proba: bool = False,
    ) -> np.ndarray:
        """Vectorised predictions for many rows: (n,), (n, targets) for joint or (n, classes) with ``proba``.

        ``rows`` is a sequence of raw feature vectors, a 2-D array, a DataFrame or an Arrow
        table (by column name); or give ``relation`` (and an optional trusted ``where``)
        to read the feature columns from the database over Arrow.
        """
        _, model = self.deployed(project_name)
        if (rows is None) == (relation is None):
            raise InvalidArgumentError(f"project `{project_name}`: pass either rows or relation")
        if relation is not None:
            _check_filter(project_name, where)
            source = resolve_relation(self.conn, relation)
            for name in model.feature_names:
                source.column(name, project_name)
            kinds = {c.name: c.kind for c in model.pipeline.columns}
            self._sync_reads()
            table = self.reader.fetch(
                _source_query(source, _select_list(source, model.feature_names, kinds), where), self.conn
            )
            x = model.pipeline.transform_rows(table)
        else:
            x = model.pipeline.transform_rows(rows)
        return model.proba_matrix(x) if proba else model.predict_matrix(x)

    # --- catalog reads -------------------------------------------------------

    def metrics(self, project_name: str) -> dict[str, Any]:
        return dict(catalog.require_deployed_model(self.conn, project_name).metrics)

    def models(self, project_name: str) -> list[dict[str, Any]]:
        return catalog.list_models(self.conn, project_name)

    def deployed_models(self) -> list[dict[str, Any]]:
        return catalog.deployed_models(self.conn)

    def version(self) -> str:
        return ENGINE_VERSION
