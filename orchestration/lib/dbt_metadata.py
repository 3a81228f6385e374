"""Column types, column lineage and row counts of each model a dbt invocation builds, attached in the
step's own thread as each of dbt's events arrives.

dagster-dbt's ``fetch_row_counts()`` and ``fetch_column_metadata()`` attach the same metadata from a
thread pool through ``dagster._core.utils.imap``, which polls ``Future.done()`` without sleeping
while it waits for dbt's next event: one core busy for as long as dbt runs, taken from dbt and
PostgreSQL (a day of the daily pipeline under cProfile: 11 million ``done()`` calls, 17 s). Each
chained ``fetch_*`` adds one more spinning thread. The per-event functions dagster-dbt runs in
that pool are called here instead, in one worker thread that waits without spinning
(``enriched_in_background``): a few catalogue queries and a parse of the compiled SQL (column
lineage) per model, the same metadata, computed while dbt goes on building the next models. The
parse is kept per model and done again only when the SQL or a column it reads changed
(``cached_lineage``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import Output
from dagster._serdes import deserialize_value, serialize_value
from dagster._utils import pushd
from dagster_dbt import DbtCliInvocation
from dagster_dbt.asset_utils import default_metadata_from_dbt_resource_props, get_node

# the functions dagster-dbt's fetch_* methods map over the events (same version pinned in pyproject)
from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata
from dagster_dbt.core.dbt_event_iterator import _fetch_row_count_metadata, _get_dbt_resource_props_from_event

log = logging.getLogger(__name__)

LINEAGE_CACHE = Path("target") / "column_lineage"  # in the dbt project: one file per model
_LINEAGE_LIBRARIES = ("dagster-dbt", "sqlglot")

Columns = dict[str, dict[str, str]]  # column name -> {"data_type": ...}, as dagster-dbt keeps them


def with_model_metadata(invocation: DbtCliInvocation, output: Output, *, row_count: bool) -> Output:
    """The model's column schema and column lineage and, with ``row_count``, a table's row count."""
    extra: dict[str, Any] = {}
    if row_count:
        extra.update(_fetch_row_count_metadata(invocation, output) or {})
    extra.update(column_metadata(invocation, output))
    return output.with_metadata({**output.metadata, **extra}) if extra else output


def _columns(invocation: DbtCliInvocation, adapter: Any, node: Mapping[str, Any]) -> tuple[str, Columns]:
    relation, columns = invocation._get_columns_from_dbt_resource_props(  # noqa: SLF001 - as dagster-dbt
        adapter=adapter, dbt_resource_props=dict(node))
    return relation, {c.name: {"data_type": c.data_type} for c in columns}


def column_metadata(invocation: DbtCliInvocation, output: Output) -> dict[str, Any]:
    """dagster-dbt's ``_fetch_column_metadata`` (the model's column types from the warehouse, its
    parents', the column lineage from the compiled SQL), with the lineage parsed again only when
    something it is computed from changed (``cached_lineage``): sqlglot's parse and optimisation of
    each model was 4.4 s of the 6.3 s of metadata a day, for the same SQL and columns every day."""
    adapter = invocation.adapter
    if adapter is None:
        return {}
    node = _get_dbt_resource_props_from_event(invocation, output)
    manifest = invocation.manifest
    with pushd(str(invocation.project_dir)), adapter.connection_named(f"column_metadata_{node['unique_id']}"):
        try:
            columns = _columns(invocation, adapter, node)[1]
        except Exception as error:  # as dagster-dbt: the model is built, its metadata is a nicety
            log.warning("no column metadata for %s: %s", node["original_file_path"], error)
            return {}
        metadata: dict[str, Any] = dict(default_metadata_from_dbt_resource_props({"columns": columns}))
        try:
            parents = dict(_columns(invocation, adapter, get_node(manifest, parent))
                           for parent in manifest["parent_map"].get(node["unique_id"], []))
            metadata.update(cached_lineage(invocation, node, EventHistoryMetadata(columns=columns, parents=parents)))
        except Exception as error:
            log.warning("no column lineage for %s: %s", node["original_file_path"], error)
    return metadata


def _lineage(invocation: DbtCliInvocation, node: Mapping[str, Any], history: EventHistoryMetadata) -> dict[str, Any]:
    return _build_column_lineage_metadata(
        event_history_metadata=history, dbt_resource_props=dict(node), manifest=invocation.manifest,
        dagster_dbt_translator=invocation.dagster_dbt_translator, target_path=invocation.target_path,
        project=invocation.project)


def lineage_key(invocation: DbtCliInvocation, node: Mapping[str, Any], history: EventHistoryMetadata) -> str | None:
    """A digest of everything the column lineage is computed from: the compiled SQL, the model's and
    its parents' columns and types, the parents' relations and asset keys, the libraries' versions.
    None when there is no compiled SQL to read (dagster-dbt then computes nothing either)."""
    if invocation.target_path is None:
        return None
    compiled = invocation.target_path / "compiled" / node["package_name"] / node["original_file_path"]
    if not compiled.is_file():
        return None
    manifest, translator = invocation.manifest, invocation.dagster_dbt_translator
    parents = {}
    for parent in node["depends_on"]["nodes"]:
        key = translator.get_asset_spec(manifest, parent, invocation.project).key
        parents[parent] = [get_node(manifest, parent)["relation_name"], key.to_user_string()]
    material = {
        "libraries": {name: version(name) for name in _LINEAGE_LIBRARIES},
        "node": {k: node.get(k) for k in ("unique_id", "resource_type", "relation_name", "package_name")},
        "dialect": manifest["metadata"]["adapter_type"],
        "sql": compiled.read_text(),
        "columns": history.columns,
        "parent_columns": history.parents,
        "parents": parents,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:32]


def cached_lineage(invocation: DbtCliInvocation, node: Mapping[str, Any], history: EventHistoryMetadata
                   ) -> dict[str, Any]:
    """The model's column lineage metadata, from ``<project>/target/column_lineage/`` when nothing it
    is computed from changed (``lineage_key``), else computed by dagster-dbt and kept there (one file
    per model: the previous one is replaced). A folder that cannot be written only costs the parse."""
    key = lineage_key(invocation, node, history)
    if key is None:
        return _lineage(invocation, node, history)
    folder = Path(invocation.project_dir) / LINEAGE_CACHE
    kept = folder / f"{node['unique_id']}.{key}.json"
    try:
        return dict(deserialize_value(kept.read_text()))  # type: ignore[arg-type]
    except FileNotFoundError:
        pass
    except Exception as error:  # a damaged file is parsed again and replaced
        log.warning("column lineage cache %s unreadable, computing it again: %s", kept.name, error)
    lineage = _lineage(invocation, node, history)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for older in folder.glob(f"{node['unique_id']}.*.json"):
            older.unlink(missing_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(serialize_value(lineage))
        os.replace(partial, kept)
    except OSError as error:
        log.debug("column lineage not kept for %s: %s", node["unique_id"], error)
    return lineage


def enriched_in_background(events: Iterable[Any], enrich: Callable[[Output], Output]) -> Iterator[Any]:
    """``events`` in their order, each ``Output`` passed through ``enrich`` in one worker thread.

    The step's thread keeps reading dbt's events (dbt never waits on a full pipe) while the worker
    fetches the metadata of the models already built; an event is handed on once every event before
    it is, so a model's checks still follow its materialization. Nothing polls: a finished model is
    handed on when the next event arrives, the rest after dbt's last event (``Future.result()``).
    """
    pending: deque[Any] = deque()

    def ready(item: Any) -> bool:
        return not isinstance(item, Future) or item.done()

    def value(item: Any) -> Any:
        return item.result() if isinstance(item, Future) else item

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbt-metadata") as worker:
        try:
            for event in events:
                pending.append(worker.submit(enrich, event) if isinstance(event, Output) else event)
                while pending and ready(pending[0]):
                    yield value(pending.popleft())
            while pending:
                yield value(pending.popleft())
        finally:
            for item in pending:  # the step stopped early: nothing more to fetch
                if isinstance(item, Future):
                    item.cancel()
