"""The code location: every definition under ``orchestration/defs/``, plus the platform-wide
policies, applied here in the open rather than by import side effects."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

# Steps fork from a server that has already imported the code location (dbt, Great
# Expectations and the ML libraries take seconds to import per process).
executor = dg.multiprocess_executor.configured(
    {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["orchestration.definitions"]}}}
)


def platform_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    """What every asset carries: the layer it belongs to (its key's first part) as a tag."""
    return spec.merge_attributes(tags={"platform/layer": spec.key.path[0]})


defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent).map_resolved_asset_specs(
        func=platform_policies),
    dg.Definitions(executor=executor),
)
