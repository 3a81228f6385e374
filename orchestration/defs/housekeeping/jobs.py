"""The housekeeping jobs, their daily schedule, and the sensor that cleans up after a failed provisioning request."""

import psycopg
from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from orchestration.defs.housekeeping.assets import ORPHANS_KEY, PROVISIONING_CLEANUP_KEY
from orchestration.lib.resources import PostgresResource
from orchestration.lib.sensor_timing import every

HOUSEKEEPING_TAG = {"platform/housekeeping": "cleanup"}  # one clean-up at a time (dagster.yaml)

housekeeping_job = define_asset_job(
    "housekeeping_job",
    selection=AssetSelection.assets(PROVISIONING_CLEANUP_KEY, ORPHANS_KEY),
    tags=HOUSEKEEPING_TAG,
    description="The retention policy's clean-ups: provisioning demos and checkpoints, then orphans.",
)

provisioning_cleanup_job = define_asset_job(
    "provisioning_cleanup_job",
    selection=AssetSelection.assets(PROVISIONING_CLEANUP_KEY),
    tags=HOUSEKEEPING_TAG,
    description="Remove the demos (BigQuery dataset, data agent) the retention policy no longer keeps.",
)


@schedule(job=housekeeping_job, cron_schedule="30 5 * * *", execution_timezone="UTC",
          name="housekeeping_daily_schedule", default_status=DefaultScheduleStatus.RUNNING)
def housekeeping_daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Every day at 05:30 UTC, after the night's pipeline, exports and archive have run."""
    return RunRequest(run_key=f"housekeeping-{context.scheduled_execution_time:%Y-%m-%d}")


FAILED_UNCLEANED = (
    "SELECT coalesce(max(id), 0), count(*) FROM provisioning_requests "
    "WHERE status IN ('failed', 'cancelled') AND demo_removed_at IS NULL AND NOT in_use"
)


@sensor(job=provisioning_cleanup_job, minimum_interval_seconds=every(30), default_status=DefaultSensorStatus.RUNNING,
        description="Launches the provisioning clean-up as soon as a provisioning request has failed (or was "
                    "cancelled) and its demo is still there: the retention policy keeps none of it.")
def failed_provisioning_cleanup_sensor(context: SensorEvaluationContext,
                                       app_db: PostgresResource) -> RunRequest | SkipReason:
    try:
        with psycopg.connect(app_db.dsn) as conn:
            row = conn.execute(FAILED_UNCLEANED).fetchone()
    except psycopg.Error as error:
        return SkipReason(f"cannot read provisioning_requests in the app database {app_db.masked_dsn}: "
                          f"{type(error).__name__}: {str(error).strip()[:200]}. Is it up and migrated "
                          "(`platform up`)?")
    newest, count = (int(row[0]), int(row[1])) if row else (0, 0)
    if not count:
        return SkipReason("no failed or cancelled provisioning request left to clean up")
    if newest <= int(context.cursor or 0):
        return SkipReason(f"{count} failed request(s) still to clean up, the newest ({newest}) already had a "
                          "clean-up run: see its run, or housekeeping_daily_schedule retries at 05:30 UTC")
    context.update_cursor(str(newest))
    return RunRequest(run_key=f"provisioning-cleanup-{newest}", tags={"platform/failed_request": str(newest)})
