"""``realtime_sensor``: refresh a day as soon as the app database moves.

Every 30 s it reads the watermarks (``datamove/watermarks.py``: rows, highest id, latest change) of
the real-time tables for the last ``LOOKBACK_DAYS`` days and compares them with its cursor:

- today or yesterday moved, or the hour changed (the previous hour is complete): one run of
  ``realtime_refresh_job`` for that day (yesterday matters between midnight and the 02:00 run);
- an older day moved (a burst of late rows): one run of ``daily_pipeline_job`` for that day, so
  every mart of the day is rebuilt from the corrected raw rows.

While a refresh is queued or running the sensor waits (its cursor keeps the old watermarks, so the
change is picked up by the next tick); dagster.yaml also runs one refresh at a time and one run
per partition. An unreachable app database skips the tick with its masked DSN; the first tick
only records the watermarks and refreshes today.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from typing import Any

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from datamove.watermarks import Watermark, encode, moved, read_watermarks
from foundation.catalog import REALTIME_TABLES
from foundation.connections import DatabaseUnreachableError
from foundation.settings import now as platform_now
from orchestration.defs.pipeline import daily_pipeline_job
from orchestration.defs.realtime.jobs import REALTIME_TAG, realtime_refresh_job
from orchestration.lib.resources import PostgresResource
from orchestration.lib.sensor_timing import every

SENSOR_INTERVAL_SECONDS = 30  # every 30 s, not 30 or 35 (orchestration/lib/sensor_timing.py)
LOOKBACK_DAYS = 7  # older days are the late-arrival rule's to report, not this sensor's to refresh
_IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED]


def _digest(marks: list[Watermark]) -> str:
    return hashlib.sha1(encode(marks).encode()).hexdigest()[:12]


def _in_flight(context: SensorEvaluationContext, job_name: str, day: date | None = None) -> str | None:
    tags = {"dagster/partition": day.isoformat()} if day else None
    runs = context.instance.get_runs(RunsFilter(job_name=job_name, statuses=_IN_FLIGHT, tags=tags), limit=1)
    return runs[0].run_id if runs else None


def plan_refreshes(previous: dict[str, Any], marks: dict[str, list[Watermark]], today: date,
                   hour: str) -> list[tuple[str, date, str]]:
    """(job, day, why) for every day to refresh, newest first (pure: tested without a database)."""
    before = {day: [Watermark(**m) for m in ms] for day, ms in (previous.get("marks") or {}).items()}
    first_tick = not before
    plans: list[tuple[str, date, str]] = []
    for day_text, day_marks in sorted(marks.items(), reverse=True):
        day = date.fromisoformat(day_text)
        changed = moved(before.get(day_text, []), day_marks)
        if day == today:
            if first_tick or changed or previous.get("hour") != hour:
                why = f"{', '.join(changed)} moved" if changed and not first_tick else (
                    "first tick" if first_tick else f"hour {hour}:00 began")
                plans.append((realtime_refresh_job.name, day, why))
        elif first_tick or not changed:
            continue
        elif day == today - timedelta(days=1):
            plans.append((realtime_refresh_job.name, day, f"{', '.join(changed)} moved"))
        else:
            plans.append((daily_pipeline_job.name, day, f"late rows: {', '.join(changed)} moved"))
    return plans


def baseline_marks(previous: dict[str, Any], marks: dict[str, list[Watermark]], planned: set[str]
                   ) -> dict[str, list[dict[str, Any]]]:
    """The watermarks the next cursor starts from: the previous ones, and every day with nothing to do
    (unchanged, or seen for the first time: the first tick refreshes today only and takes the past days
    as loaded) as it is now. Else the next tick would find those days "moved" and re-run the daily
    pipeline for each. A planned day is recorded only once its run is requested."""
    kept = dict(previous.get("marks") or {})
    kept.update({day: [m.__dict__ for m in day_marks] for day, day_marks in marks.items() if day not in planned})
    return kept


@sensor(
    name="realtime_sensor",
    jobs=[realtime_refresh_job, daily_pipeline_job],
    minimum_interval_seconds=every(SENSOR_INTERVAL_SECONDS),
    default_status=DefaultSensorStatus.RUNNING,
    description="Refreshes today's tasks, chat_messages and llm_usage and the marts that read them whenever the "
    "app database moves or an hour ends (seed 000: < 5 min freshness); re-runs a past day that received late rows.",
)
def realtime_sensor(context: SensorEvaluationContext, app_db: PostgresResource) -> SensorResult | SkipReason:
    now = platform_now()
    today, hour = now.date(), now.strftime("%Y-%m-%dT%H")
    previous: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    days = [today - timedelta(days=back) for back in range(LOOKBACK_DAYS)]
    try:
        with app_db.connect() as conn:
            marks = {day.isoformat(): read_watermarks(conn, REALTIME_TABLES, day) for day in days}
    except DatabaseUnreachableError as error:
        return SkipReason(f"the app database is unreachable, nothing refreshed until it is back: {error}")
    plans = plan_refreshes(previous, marks, today, hour)
    if not plans:
        return SkipReason(f"no real-time table moved since the last refresh ({hour}:00 hour)")

    requests, waiting, today_done = [], [], all(day != today for _, day, _ in plans)
    kept = baseline_marks(previous, marks, {day.isoformat() for _, day, _ in plans})
    for job_name, day, why in plans:
        running = _in_flight(context, job_name, day) or (
            _in_flight(context, realtime_refresh_job.name) if job_name == realtime_refresh_job.name else None)
        if running:
            waiting.append(f"{day} ({why}) waits for run {running[:8]}")
            continue
        day_marks = marks[day.isoformat()]
        kept[day.isoformat()] = [m.__dict__ for m in day_marks]
        today_done = today_done or day == today
        requests.append(RunRequest(run_key=f"{job_name}:{day}:{_digest(day_marks)}:{hour}", job_name=job_name,
                                   partition_key=day.isoformat(),
                                   tags={"platform/trigger": why[:200], REALTIME_TAG + "_day": day.isoformat()}))
    # a day that waited keeps its old watermarks (and today its old hour): the next tick plans it again
    cursor = json.dumps({"marks": {d: kept[d] for d in sorted(kept) if d in marks},
                         "hour": hour if today_done else previous.get("hour")}, sort_keys=True)
    if not requests:
        return SkipReason("; ".join(waiting))
    return SensorResult(run_requests=requests, cursor=cursor)
