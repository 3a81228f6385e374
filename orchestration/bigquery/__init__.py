"""BigQuery for the platform: the client resource, the local emulator and the loading helpers.

Names are imported lazily so the emulator process (``python -m
orchestration.bigquery.emulator_server``) does not pay for importing Dagster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestration.bigquery.emulator import ensure_emulator, running_emulator, stop_emulator
    from orchestration.bigquery.load import (
        BigQueryLoadError,
        DayTarget,
        LoadResult,
        ReconciliationError,
        SchemaMismatchError,
        ensure_dataset,
        ensure_day_partitioned_table,
        inspect_day,
        load_table,
        replace_day_partition,
    )
    from orchestration.bigquery.resource import BigQueryResource, make_client

_EXPORTS = {
    "ensure_emulator": "emulator",
    "running_emulator": "emulator",
    "stop_emulator": "emulator",
    "BigQueryLoadError": "load",
    "DayTarget": "load",
    "LoadResult": "load",
    "ReconciliationError": "load",
    "SchemaMismatchError": "load",
    "ensure_dataset": "load",
    "ensure_day_partitioned_table": "load",
    "inspect_day": "load",
    "load_table": "load",
    "replace_day_partition": "load",
    "BigQueryResource": "resource",
    "make_client": "resource",
}

__all__ = [
    "BigQueryLoadError",
    "BigQueryResource",
    "DayTarget",
    "LoadResult",
    "ReconciliationError",
    "SchemaMismatchError",
    "ensure_dataset",
    "ensure_day_partitioned_table",
    "ensure_emulator",
    "inspect_day",
    "load_table",
    "make_client",
    "replace_day_partition",
    "running_emulator",
    "stop_emulator",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
