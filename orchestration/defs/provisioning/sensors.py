"""The provisioning sensor: one run per pending request, ``run_key`` = the request id.

Every few seconds it reads pending ``provisioning_requests`` newer than its cursor (the
last request id it launched), adds a dynamic partition per request, requests one run per
request and marks the requests ``queued``. The daemon de-duplicates by ``run_key``, so a
request is never provisioned twice even if the cursor were reset. Requests whose
transaction committed after a newer id was seen (id below the cursor, still pending)
are picked up as well: ``status`` is the source of truth, the cursor the high-water mark.

Before launching, ``agents.provisioning.admission.admit`` refuses requests past their
deadline, duplicates of a URL launched within the window and requests over their
requester's daily quota: they are marked failed with the reason, which the skip message
repeats. Every run carries ``dagster/max_runtime``: the run-monitoring daemon
(``dagster.yaml``) terminates a provisioning run that outlives it.
"""

from __future__ import annotations

import psycopg
from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG

from agents.provisioning.admission import admit
from agents.provisioning.requests import mark_queued, pending_requests
from foundation.settings import now as platform_now
from orchestration.defs.provisioning.assets import PROVISIONED_DEMO_KEY
from orchestration.lib.partitions import provisioning_request_partitions
from orchestration.lib.resources import PostgresResource
from orchestration.lib.sensor_timing import every

CONCURRENCY_TAG = "platform/provisioning"  # dagster.yaml allows 2 such runs at once
REQUEST_TAG = "platform/provisioning_request"
# A failed provisioning (an unreachable site, a refused query) fails again on a retry;
# the run retries of dagster.yaml are for runs whose worker died, which the checkpoint resumes.
NO_RETRY_ON_FAILURE = {"dagster/retry_on_asset_or_op_failure": "false"}
MAX_RUNS_PER_TICK = 25
# Every 5 s, the daemon's every look (declared as 5 s, it ran every 5 or 10 s: orchestration/lib/sensor_timing.py).
SENSOR_INTERVAL_SECONDS = 5
# A provisioning run takes minutes; one that lasts an hour is stuck (a hung site, a stalled
# query) and holds one of the two provisioning slots: the daemon terminates it.
MAX_RUNTIME_SECONDS = 3600
RUN_TIME_LIMIT = {MAX_RUNTIME_SECONDS_TAG: str(MAX_RUNTIME_SECONDS)}

provisioning_job = define_asset_job(
    "provisioning_job",
    selection=AssetSelection.assets(PROVISIONED_DEMO_KEY),
    partitions_def=provisioning_request_partitions,
    tags={CONCURRENCY_TAG: "demo", **NO_RETRY_ON_FAILURE, **RUN_TIME_LIMIT},
    description="Provision one customer demo (one provisioning request = one partition).",
)


def run_request_for(request_id: int, requested_by: str) -> RunRequest:
    return RunRequest(
        run_key=str(request_id),
        partition_key=str(request_id),
        tags={CONCURRENCY_TAG: "demo", **NO_RETRY_ON_FAILURE, **RUN_TIME_LIMIT, REQUEST_TAG: str(request_id),
              "platform/requested_by": requested_by[:200]},
    )


@sensor(
    job=provisioning_job,
    minimum_interval_seconds=every(SENSOR_INTERVAL_SECONDS),
    default_status=DefaultSensorStatus.RUNNING,
    description="Launches one provisioning run per pending provisioning request (run_key = request id).",
)
def provisioning_requests_sensor(context: SensorEvaluationContext, app_db: PostgresResource) -> SensorResult | SkipReason:
    last_id = int(context.cursor or 0)
    try:
        pending = pending_requests(app_db.dsn, last_id, MAX_RUNS_PER_TICK)
    except psycopg.Error as error:
        return SkipReason(
            f"cannot read provisioning_requests in the app database {app_db.masked_dsn}: "
            f"{type(error).__name__}: {str(error).strip()[:200]}. Is PLATFORM_APP_DSN right and the database "
            "up (`platform up`) and migrated?"
        )
    if not pending:
        return SkipReason(
            f"no pending provisioning requests (last launched request id: {last_id or 'none'}); "
            "create one with `platform provision URL --requested-by you@example.com`"
        )
    admission = admit(app_db.dsn, pending, now=platform_now())
    if admission.refused:
        context.log.warning(f"not launched (marked failed): {admission.refusal_summary(limit=25)}")
    launch = admission.launch
    if not launch:
        return SkipReason(
            f"no provisioning run launched: {admission.refusal_summary()}. These requests are marked failed "
            "with the reason in provisioning_requests.error (limits: agents/provisioning/admission.py)."
        )
    late = [r.id for r in launch if r.id <= last_id]
    if late:
        context.log.info(f"picking up requests committed after newer ones: {late}")
    keys = [str(r.id) for r in launch]
    mark_queued(app_db.dsn, [r.id for r in launch])
    context.log.info(f"launching provisioning runs for requests {', '.join(keys)}")
    return SensorResult(
        run_requests=[run_request_for(r.id, r.requested_by) for r in launch],
        dynamic_partitions_requests=[provisioning_request_partitions.build_add_request(keys)],
        cursor=str(max(last_id, *(r.id for r in pending))),
    )
