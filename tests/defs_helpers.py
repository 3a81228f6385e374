"""One domain folder of ``orchestration/defs`` as Definitions, collected the way
``load_from_defs_folder`` collects the whole folder (every module's top-level definitions)."""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg


def domain_defs(domain: str, with_resources: bool = True) -> dg.Definitions:
    """The domain's definitions, with the code location's resources unless told otherwise."""
    package = importlib.import_module(f"orchestration.defs.{domain}")
    modules = [importlib.import_module(f"{package.__name__}.{info.name}")
               for info in pkgutil.iter_modules(package.__path__)]
    loaded = dg.load_definitions_from_modules(modules)
    if not with_resources:
        return loaded
    from orchestration.defs.resources import defs as resources

    return dg.Definitions.merge(loaded, resources)
