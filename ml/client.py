"""``PostgresML``: one interface whether or not the ``pgml`` extension is installed.

    ml = PostgresML(settings.warehouse_dsn, read_dsn=settings.read_dsn, signing_key=settings.model_signing_key)
    # or, reads on the replica after it has replayed the primary's writes (foundation.replica):
    ml = PostgresML(settings.warehouse_dsn, reads=ReplicaReads.open(...), signing_key=...)
    ml.train("pr_rework_classifier_v1", "classification", "ml.pr_rework_training_data",
             "rework_indicator", algorithm="lightgbm", test_size=0.3, test_sampling="random")
    ml.predict("pr_rework_classifier_v1", [3, 12, 1, 40.0])

With the extension present every call is a ``pgml.*`` SQL statement; otherwise the
engine in ``ml.engine`` implements the same arguments, catalog and semantics.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from ml.backend import Backend, DeployResult, TrainRequest, TrainResult, arguments_of
from ml.engine import Engine
from ml.extension import ExtensionBackend, extension_installed
from ml.model import signing_key_bytes

if TYPE_CHECKING:
    from foundation.replica import ReplicaReads

log = logging.getLogger(__name__)


class PostgresML:
    """PostgresML over psycopg; ``backend`` says which implementation answers ("pgml" or "engine").

    ``conn`` is a psycopg connection (autocommit recommended: the engine commits its own
    catalog writes; in an open transaction they become part of it) or a DSN, for which
    an autocommit connection is opened and owned. ``read_dsn`` (e.g. the read replica)
    is where the engine reads training and batch-prediction data; default: ``conn``'s
    database. ``use_extension`` forces a backend; by default it is detected.
    ``reads`` (a ``foundation.replica.ReplicaReads``) instead of ``read_dsn``: reads go to its DSN
    (the replica's ML session), each after the replica has replayed what ``conn`` has written.
    ``signing_key`` (at least 16 bytes; the platform passes ``PLATFORM_MODEL_SIGNING_KEY``)
    signs the artifacts the engine stores and verifies them before loading; the library
    never reads it from the environment itself.
    """

    def __init__(
        self,
        conn: psycopg.Connection | str,
        *,
        signing_key: bytes | str,
        read_dsn: str | None = None,
        use_extension: bool | None = None,
        reads: ReplicaReads | None = None,
    ) -> None:
        key = signing_key_bytes(signing_key)  # refused before any connection is opened
        self._owned = isinstance(conn, str)
        self.conn: psycopg.Connection = psycopg.connect(conn, autocommit=True) if isinstance(conn, str) else conn
        self.reads = reads
        self.read_dsn = reads.dsn if reads is not None else read_dsn
        installed = extension_installed(self.conn) if use_extension is None else use_extension
        self.backend = "pgml" if installed else "engine"
        self._impl: Backend = (
            ExtensionBackend(self.conn) if installed
            else Engine(self.conn, read_dsn=self.read_dsn, signing_key=key,
                        before_read=reads.sync if reads is not None else None)
        )
        log.debug("PostgresML backend: %s", self.backend)

    def __enter__(self) -> PostgresML:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if isinstance(self._impl, Engine):
            self._impl.close()
        if self._owned and not self.conn.closed:
            self.conn.close()

    @arguments_of(TrainRequest)
    def train(self, request: TrainRequest) -> TrainResult:
        """``pgml.train`` (the arguments of ``ml.backend.TrainRequest``): returns (project, task,
        algorithm, deployed) plus ``model_id`` and ``metrics``."""
        return self._impl.train(request)

    def deploy(self, project_name: str, strategy: str = "best_score", algorithm: str | None = None) -> DeployResult:
        """``pgml.deploy``: strategy best_score | most_recent | rollback, optionally within one algorithm."""
        return self._impl.deploy(project_name, strategy, algorithm)

    def predict(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> float:
        """``pgml.predict``: raw feature values in the training relation's column order (or by name)."""
        return self._impl.predict(project_name, features)

    def predict_proba(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        return self._impl.predict_proba(project_name, features)

    def predict_joint(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]:
        return self._impl.predict_joint(project_name, features)

    def predict_batch(
        self,
        project_name: str,
        rows: Any = None,
        *,
        relation: str | None = None,
        where: str | None = None,
        proba: bool = False,
    ) -> np.ndarray:
        return self._impl.predict_batch(project_name, rows, relation=relation, where=where, proba=proba)

    def metrics(self, project_name: str) -> dict[str, Any]:
        """Metrics of the deployed model (upstream keys plus fit_time/score_time)."""
        return self._impl.metrics(project_name)

    def models(self, project_name: str) -> list[dict[str, Any]]:
        return self._impl.models(project_name)

    def deployed_models(self) -> list[dict[str, Any]]:
        return self._impl.deployed_models()

    def version(self) -> str:
        return self._impl.version()

    def sync_reads(self) -> None:
        """Before reading on ``read_dsn`` what ``conn`` wrote: the replica replays up to the primary's now."""
        if self.reads is not None:
            self.reads.sync(self.conn)
