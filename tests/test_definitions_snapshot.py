"""A snapshot of the whole code location: every change to the graph shows in review.

The snapshot (``tests/__snapshots__/definitions.json``) lists asset keys with their deps,
partitions, group and kinds; checks (blocking or not); jobs with their selections; schedules;
sensors; resources. After an intended change: ``UPDATE_SNAPSHOTS=1 pytest tests/test_definitions_snapshot.py``
and commit the new file with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

from foundation.settings import load_settings

SNAPSHOT = Path(__file__).parent / "__snapshots__" / "definitions.json"


def _partitions(definition: dg.PartitionsDefinition | None) -> str | None:
    if definition is None:
        return None
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        # the start follows the platform's clock (PLATFORM_PARTITION_START): named, not dated
        start = definition.start.date().isoformat()
        configured = load_settings().partition_start
        if start == configured:
            start = "PLATFORM_PARTITION_START"
        elif start == configured[:8] + "01":
            start = "month of PLATFORM_PARTITION_START"
        return f"{type(definition).__name__}(start={start}, cron={definition.cron_schedule!r})"
    return type(definition).__name__


def _freshness(policy: dg.FreshnessPolicy | None) -> str | None:
    if policy is None:
        return None
    fail, warn = getattr(policy, "fail_window", None), getattr(policy, "warn_window", None)
    return f"{type(policy).__name__}(fail={fail and fail.to_timedelta()}, warn={warn and warn.to_timedelta()})"


def snapshot(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "freshness": _freshness(node.freshness_policy),
        }
    checks = {}
    for check in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        spec = graph.get_check_spec(check)
        checks[f"{check.asset_key.to_user_string()}:{check.name}"] = {"blocking": spec.blocking}
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        selected = job.asset_layer.selected_asset_keys if job.asset_layer else set()
        jobs[job.name] = {"assets": len(selected), "partitions": _partitions(job.partitions_def)}
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "schedules": {s.name: {"cron": s.cron_schedule, "job": s.job_name,
                               "default_status": s.default_status.value} for s in defs.schedules or []},
        "sensors": {s.name: {"interval_seconds": s.minimum_interval_seconds,
                             "default_status": s.default_status.value} for s in defs.sensors or []},
        "resources": sorted((defs.resources or {}).keys()),
    }


def test_the_code_location_matches_its_snapshot() -> None:
    from orchestration.definitions import defs

    current = json.dumps(snapshot(defs), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    expected = SNAPSHOT.read_text()
    assert current == expected, (
        "the code location changed: review the difference, then UPDATE_SNAPSHOTS=1 pytest "
        f"tests/test_definitions_snapshot.py\n{_diff(expected, current)}")


def _diff(expected: str, current: str) -> str:
    import difflib

    return "".join(list(difflib.unified_diff(expected.splitlines(True), current.splitlines(True),
                                             "snapshot", "code location", n=2))[:200])
