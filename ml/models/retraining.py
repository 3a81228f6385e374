"""When a model is stale (seed 003, Step 4.1.2), as a pure decision over the catalog's state.

A model needs retraining when its last training is at least ``retrain_after_days`` old
or its training view has gained at least ``retrain_after_new_records`` rows since.
"Last training" is the project's most recent model, deployed or not: a retrain whose
model lost the automatic-deploy comparison still counts, otherwise the sensor would
ask again on every tick until the data changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from foundation.settings import now as platform_now
from ml.models.specs import ModelSpec
from ml.models.warehouse import count_rows, relation_exists


@dataclass(frozen=True)
class ModelState:
    marts_ready: bool
    latest_model_id: int | None = None
    age_days: float | None = None
    trained_rows: int | None = None  # rows of the training view at the last training
    current_rows: int = 0

    @property
    def new_records(self) -> int | None:
        return None if self.trained_rows is None else max(0, self.current_rows - self.trained_rows)


@dataclass(frozen=True)
class Assessment:
    spec: ModelSpec
    state: ModelState
    stale: bool
    reason: str

    @property
    def token(self) -> str:
        """Identifies the training this assessment is about: one request per token."""
        return f"{self.spec.name}@{self.state.latest_model_id or 'none'}"


def assess(spec: ModelSpec, state: ModelState) -> Assessment:
    days, records = spec.retrain_after_days, spec.retrain_after_new_records
    if not state.marts_ready:
        return Assessment(spec, state, False, f"{spec.name}: feature marts not built yet")
    if state.latest_model_id is None:
        return Assessment(spec, state, state.current_rows > 0, f"{spec.name}: no model trained yet"
                          + ("" if state.current_rows else ", and no training rows"))
    stale_by_records = (records is not None and state.new_records is not None and state.new_records >= records)
    stale_by_age = days is not None and state.age_days is not None and state.age_days >= days
    new = "unknown new records" if state.new_records is None else (
        f"{state.new_records} new records {'≥' if stale_by_records else '<'} {records}")
    age = f"trained {state.age_days:.0f} days ago {'≥' if stale_by_age else '<'} {days}"
    return Assessment(spec, state, stale_by_records or stale_by_age, f"{spec.name}: {new}, {age}")


_LATEST_MODEL = """
SELECT models.id,
       extract(epoch FROM %(now)s::timestamptz - models.created_at::timestamptz) / 86400,
       (snapshots.analysis ->> 'samples')::bigint
FROM pgml.models
JOIN pgml.projects ON projects.id = models.project_id
LEFT JOIN pgml.snapshots ON snapshots.id = models.snapshot_id
WHERE projects.name = %(project)s
ORDER BY models.id DESC
LIMIT 1
"""


def read_state(conn: psycopg.Connection, spec: ModelSpec) -> ModelState:
    """The spec's state from the warehouse: marts built, last training (pgml catalog), rows now."""
    marts = [f"{key[0]}.{key[-1]}" for key in spec.upstream]
    if not all(relation_exists(conn, name) for name in marts):
        return ModelState(marts_ready=False)
    current = count_rows(conn, spec.training_sql)
    if not relation_exists(conn, "pgml.models"):
        return ModelState(True, current_rows=current)
    # the model's age on the platform's clock (pgml stamps created_at with the server's)
    row = conn.execute(_LATEST_MODEL, {"project": spec.project, "now": platform_now()}).fetchone()
    if row is None:
        return ModelState(True, current_rows=current)
    return ModelState(True, int(row[0]), float(row[1]), None if row[2] is None else int(row[2]), current)
