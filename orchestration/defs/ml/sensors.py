"""Retraining when data freshness thresholds are crossed (seed 003, Step 4.1.2).

Every hour the sensor reads each model's state from the warehouse (read replica) and
requests one run of only the stale models. The cursor remembers which training each
request was for (``<model>@<latest model id>``), so a model is requested once per
training even while its run is queued; the run key is the same tokens, deterministic.
"""

# No `from __future__ import annotations`: Dagster inspects resource annotations at runtime.

import json

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ml.models.retraining import Assessment, assess, read_state
from ml.models.specs import RETRAINED_BY_SENSOR
from orchestration.defs.ml.jobs import ml_training_job
from orchestration.lib.resources import PostgresResource

RETRAINING_INTERVAL_SECONDS = 3600


def _requested(cursor: str | None) -> dict[str, str]:
    try:
        return dict(json.loads(cursor or "{}").get("requested", {}))
    except (ValueError, AttributeError):
        return {}


def retraining_requests(assessments: list[Assessment], cursor: str | None) -> SensorResult | SkipReason:
    """The decision as a pure function of the assessments and the cursor."""
    requested = _requested(cursor)
    due = [a for a in assessments if a.stale and requested.get(a.spec.name) != a.token]
    reasons = [a.reason + (" (retraining already requested)" if a.stale and a not in due else "") for a in assessments]
    if not due:
        return SkipReason("; ".join(reasons))
    requested.update({a.spec.name: a.token for a in due})
    run_key = "ml-retrain:" + ",".join(a.token for a in due)
    request = RunRequest(
        run_key=run_key,
        asset_selection=[AssetKey(a.spec.asset_path) for a in due],
        tags={"ml/retrain_reason": "; ".join(a.reason for a in due)[:4000]},
    )
    return SensorResult(run_requests=[request], cursor=json.dumps({"requested": requested}, sort_keys=True))


@sensor(
    name="ml_retraining_sensor",
    job=ml_training_job,
    minimum_interval_seconds=RETRAINING_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Retrains a model when it was last trained at least N days ago or its training view gained "
    "M rows since (trajectory 30 d / 100, complexity 14 d / 200, rework 21 d / 50; seed 003).",
)
def ml_retraining_sensor(context: SensorEvaluationContext, replica_db: PostgresResource) -> SensorResult | SkipReason:
    with replica_db.connect() as conn:
        assessments = [assess(spec, read_state(conn, spec)) for spec in RETRAINED_BY_SENSOR]
    for assessment in assessments:
        context.log.info(assessment.reason)
    return retraining_requests(assessments, context.cursor)
