"""Is the ML engine answering? Seed 003's ``/health/ml``: the version and a tiny train/predict round trip.

The round trip trains project ``platform_health_check`` (linear regression on y = 2x + 1 over
twenty rows of a view in ``pgml``) through the same session the platform's models use, so its
read goes where theirs go (the replica), predicts one value, and removes the project again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from ml.errors import PgmlError

if TYPE_CHECKING:
    from ml.client import PostgresML

log = logging.getLogger(__name__)

HEALTH_PROJECT = "platform_health_check"
HEALTH_RELATION = "pgml.health_check_series"
_HEALTH_SQL = "SELECT x::float8 AS x, (2 * x + 1)::float8 AS y FROM generate_series(1, 20) AS x"
PROBE_X, EXPECTED_Y = 30.0, 61.0
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class EngineHealth:
    backend: str
    version: str | None
    prediction: float | None
    round_trip_seconds: float
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.error is None and self.prediction is not None and abs(self.prediction - EXPECTED_Y) <= _TOLERANCE


def _drop_project(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(
            "DELETE FROM pgml.snapshots WHERE id IN (SELECT models.snapshot_id FROM pgml.models"
            " JOIN pgml.projects ON projects.id = models.project_id WHERE projects.name = %s)", (HEALTH_PROJECT,))
        conn.execute("DELETE FROM pgml.projects WHERE name = %s", (HEALTH_PROJECT,))


def check_engine(ml: PostgresML) -> EngineHealth:
    """Version, then train on the tiny relation and predict x = 30 (expected 61)."""
    started = time.perf_counter()
    version: str | None = None
    prediction: float | None = None
    error: str | None = None
    try:
        version = ml.version()
        with ml.conn.transaction():
            ml.conn.execute(f"CREATE OR REPLACE VIEW {HEALTH_RELATION} AS {_HEALTH_SQL}")
        ml.train(HEALTH_PROJECT, "regression", HEALTH_RELATION, "y", algorithm="linear", test_size=0.25,
                 test_sampling="last")
        prediction = float(ml.predict(HEALTH_PROJECT, [PROBE_X]))
    except (PgmlError, psycopg.Error, RuntimeError) as exc:  # RuntimeError: a replica that lags or is down
        error = f"{type(exc).__name__}: {str(exc).strip()}"
        log.warning("ML engine health check failed: %s", error)
    finally:
        try:
            _drop_project(ml.conn)
        except psycopg.Error as exc:
            log.warning("could not remove the health-check project: %s", exc)
    return EngineHealth(ml.backend, version, prediction, time.perf_counter() - started, error)
