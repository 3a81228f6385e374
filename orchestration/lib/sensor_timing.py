"""Sensor intervals that happen as written.

Dagster's sensor daemon looks at its sensors every 5 s and counts a sensor's minimum interval from
its last tick's timestamp, taken a moment after the look that ran it (``get_elapsed`` in
``dagster/_daemon/sensor.py``). A sensor declared with N s (a multiple of 5) therefore found, N s
later, that a little less than N s had passed, and ran every N or N + 5 s: measured with the real
daemon, the provisioning sensor at 5 s ran every 5 or 10 s. Declared one look minus a second
shorter, a sensor runs at every look N s after its last while that moment stays under 4 s.
"""

from __future__ import annotations

DAEMON_LOOK_SECONDS = 5  # dagster's sensor loop (MIN_INTERVAL_LOOP_TIME)


def every(seconds: int) -> int:
    """The ``minimum_interval_seconds`` that runs a sensor every ``seconds`` (a multiple of 5)."""
    if seconds < DAEMON_LOOK_SECONDS or seconds % DAEMON_LOOK_SECONDS:
        raise ValueError(f"a sensor can run every {DAEMON_LOOK_SECONDS * 1}, {DAEMON_LOOK_SECONDS * 2}, ... "
                         f"seconds (the daemon looks every {DAEMON_LOOK_SECONDS} s), not every {seconds}")
    return seconds - DAEMON_LOOK_SECONDS + 1
