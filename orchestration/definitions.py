"""The code location: every definition under ``orchestration/defs/``, plus the platform-wide
policies, applied here in the open rather than by import side effects."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.lib.executors import in_process
from orchestration.lib.freshness import freshness_policy_for
from orchestration.lib.run_workers import fork_run_workers_from_warm_server


def platform_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    """What every asset carries: the layer it belongs to (its key's first part) as a tag, and the
    freshness its tier promises (real-time or daily; orchestration/lib/freshness.py)."""
    spec = spec.merge_attributes(tags={"platform/layer": spec.key.path[0]})
    policy = freshness_policy_for(spec.key)
    return spec.replace_attributes(freshness_policy=policy) if policy is not None else spec


defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent).map_resolved_asset_specs(
        func=platform_policies),
    # light steps by default; heavy jobs name their own executor (orchestration/lib/executors.py)
    dg.Definitions(executor=in_process),
)

# in a code server, each run's worker is a fork of a server that has imported all of the above once
# (orchestration/lib/run_workers.py); elsewhere (a CLI, a test, `dg check`) this does nothing
fork_run_workers_from_warm_server()
