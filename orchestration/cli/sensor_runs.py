"""Provision through the sensor path without the daemon, in-process: for tests (``make demo`` and
``platform provision --now`` let the daemon's sensor launch the run: ``orchestration/cli/launch.py``).

``provision_via_sensor`` evaluates the sensor with its stored cursor, applies its dynamic
partition requests, and executes each run request in-process on the given instance. Like
the daemon, it skips a run request whose ``run_key`` already has a run launched by this
sensor, and it stores the sensor's new cursor on the instance so the next call (or the
daemon) continues after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dagster import (
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    RunsFilter,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from orchestration.defs.provisioning.sensors import provisioning_job, provisioning_requests_sensor
from orchestration.lib.partitions import provisioning_request_partitions

log = logging.getLogger(__name__)

_CURSOR_KEY = "platform/provisioning_sensor_cursor"


@dataclass
class SensorPassResult:
    launched: list[ExecuteInProcessResult] = field(default_factory=list)
    skipped_run_keys: list[str] = field(default_factory=list)  # already had a run (daemon-style de-dup)
    skip_reasons: list[str] = field(default_factory=list)
    cursor: str | None = None

    @property
    def run_keys(self) -> list[str]:
        return [r.dagster_run.tags[RUN_KEY_TAG] for r in self.launched]


def evaluate_sensor(instance: DagsterInstance, defs: Definitions, cursor: str | None) -> SensorResult | SkipReason:
    sensor_def = defs.resolve_sensor_def(provisioning_requests_sensor.name)
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                   sensor_name=sensor_def.name, resources=dict(defs.resources or {}))
    result = sensor_def(context)
    if isinstance(result, SkipReason | SensorResult):
        return result
    raise TypeError(f"unexpected sensor result {type(result).__name__}")


def existing_run_ids(instance: DagsterInstance, run_key: str) -> list[str]:
    runs = instance.get_runs(RunsFilter(tags={RUN_KEY_TAG: run_key,
                                              SENSOR_NAME_TAG: provisioning_requests_sensor.name}))
    return [r.run_id for r in runs]


def provision_via_sensor(
    instance: DagsterInstance,
    defs: Definitions,
    *,
    cursor: str | None = None,
    max_ticks: int = 10,
    execute: bool = True,
) -> SensorPassResult:
    """Tick the sensor until it skips (at most ``max_ticks``), running what it requests in-process.

    ``cursor`` defaults to the one stored on the instance by the previous call.
    """
    outcome = SensorPassResult(cursor=cursor if cursor is not None else instance.run_storage.get_cursor_values(
        {_CURSOR_KEY}).get(_CURSOR_KEY))
    job = defs.resolve_job_def(provisioning_job.name)
    for _ in range(max_ticks):
        result = evaluate_sensor(instance, defs, outcome.cursor)
        if isinstance(result, SkipReason):
            outcome.skip_reasons.append(result.skip_message or "")
            break
        for request in result.dynamic_partitions_requests or []:
            keys = list(request.partition_keys or [])
            instance.add_dynamic_partitions(provisioning_request_partitions.name or "", keys)
        outcome.cursor = result.cursor
        instance.run_storage.set_cursor_values({_CURSOR_KEY: outcome.cursor or ""})
        for run_request in result.run_requests or []:
            run_key = run_request.run_key or ""
            if existing_run_ids(instance, run_key):
                outcome.skipped_run_keys.append(run_key)
                continue
            if not execute:
                continue
            log.info("running provisioning request %s in-process", run_key)
            outcome.launched.append(
                job.execute_in_process(
                    instance=instance,
                    partition_key=run_request.partition_key,
                    tags={**run_request.tags, RUN_KEY_TAG: run_key,
                          SENSOR_NAME_TAG: provisioning_requests_sensor.name},
                    raise_on_error=False,
                )
            )
    return outcome
