"""Sensors run as often as they say (orchestration/lib/sensor_timing.py), in a model of Dagster's
sensor daemon: a look every 5 s; a look runs the sensor when the declared minimum interval has passed
since its last tick's timestamp, which is taken a moment (up to 4 s on a busy machine) after the
look that ran it."""

from __future__ import annotations

import random

import pytest

from orchestration.defs.housekeeping.jobs import failed_provisioning_cleanup_sensor
from orchestration.defs.provisioning.sensors import SENSOR_INTERVAL_SECONDS as PROVISIONING_EVERY
from orchestration.defs.provisioning.sensors import provisioning_requests_sensor
from orchestration.defs.realtime.sensors import SENSOR_INTERVAL_SECONDS as REALTIME_EVERY
from orchestration.defs.realtime.sensors import realtime_sensor
from orchestration.lib.sensor_timing import DAEMON_LOOK_SECONDS, every


def _gaps(minimum_interval: int, looks: int = 400, seed: int = 1) -> set[int]:
    """The seconds between the looks that ran the sensor."""
    rng = random.Random(seed)
    ran: list[int] = []
    stamp = float("-inf")
    for look in range(0, looks * DAEMON_LOOK_SECONDS, DAEMON_LOOK_SECONDS):
        if look - stamp >= minimum_interval:
            ran.append(look)
            stamp = look + rng.uniform(0, 3.9)
    return {b - a for a, b in zip(ran, ran[1:], strict=False)}


@pytest.mark.parametrize("seconds", [5, 30, 60])
def test_a_sensor_runs_every_so_many_seconds_not_one_look_more(seconds: int) -> None:
    assert _gaps(every(seconds)) == {seconds}
    # declared as meant, it runs a look late whenever the stamp lags its look (the daemon measured: 5 or 10 s)
    assert seconds + DAEMON_LOOK_SECONDS in _gaps(seconds)


def test_the_platforms_sensors_declare_what_runs_them_on_time() -> None:
    assert provisioning_requests_sensor.minimum_interval_seconds == every(PROVISIONING_EVERY) == every(5)
    assert realtime_sensor.minimum_interval_seconds == every(REALTIME_EVERY) == every(30)
    assert failed_provisioning_cleanup_sensor.minimum_interval_seconds == every(30)


@pytest.mark.parametrize("seconds", [0, 3, 7, 31])
def test_an_interval_the_daemon_cannot_keep_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="the daemon looks every 5 s"):
        every(seconds)
