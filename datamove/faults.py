"""Crash injection for the fault tests: ``PLATFORM_FAULT_POINTS`` names where a process dies.

The archive, the export, the raw extraction (``extract.*``), the quarantine step of the
raw load (``quarantine.*``), the quality scorecard (``scorecard.*``) and the budget alerts
(``alerts.*``) call ``fault_point("archive.published")`` between their steps.
When the variable lists that point (``name`` or ``name:N`` for the N-th hit) the process kills itself with SIGKILL on the spot: no ``finally``, no atexit, no flush, the
same as the OOM killer or a lost node. Unset (production), a call costs one dict lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

FAULT_POINTS_VARIABLE = "PLATFORM_FAULT_POINTS"

_hits: Counter[str] = Counter()


def _armed() -> dict[str, int]:
    spec = os.environ.get(FAULT_POINTS_VARIABLE, "")
    points: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, nth = item.partition(":")
        points[name] = int(nth or 1)
    return points


def fault_point(name: str) -> None:
    """Die here (SIGKILL) if ``PLATFORM_FAULT_POINTS`` arms this point for this hit."""
    if FAULT_POINTS_VARIABLE not in os.environ:
        return
    _hits[name] += 1
    if _armed().get(name) == _hits[name]:
        os.kill(os.getpid(), signal.SIGKILL)


def reset_fault_counts() -> None:
    """Forget the hits so far (a forked worker starts counting from zero)."""
    _hits.clear()
