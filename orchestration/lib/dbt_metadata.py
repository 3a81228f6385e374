"""Column types, column lineage and row counts of each model a dbt invocation builds, attached in the
step's own thread as each of dbt's events arrives.

dagster-dbt's ``fetch_row_counts()`` and ``fetch_column_metadata()`` attach the same metadata from a
thread pool through ``dagster._core.utils.imap``, which polls ``Future.done()`` without sleeping
while it waits for dbt's next event: one core busy for as long as dbt runs, taken from dbt and
PostgreSQL (a day of the daily pipeline under cProfile: 11 million ``done()`` calls, 17 s). Each
chained ``fetch_*`` adds one more spinning thread. The per-event functions dagster-dbt runs in
that pool are called here instead, in one worker thread that waits without spinning
(``enriched_in_background``): a few catalogue queries and a parse of the compiled SQL (column
lineage) per model, the same metadata, computed while dbt goes on building the next models.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from dagster import Output
from dagster_dbt import DbtCliInvocation

# the functions dagster-dbt's fetch_* methods map over the events (same version pinned in pyproject)
from dagster_dbt.core.dbt_event_iterator import _fetch_column_metadata, _fetch_row_count_metadata


def with_model_metadata(invocation: DbtCliInvocation, output: Output, *, row_count: bool) -> Output:
    """The model's column schema and column lineage and, with ``row_count``, a table's row count."""
    extra: dict[str, Any] = {}
    if row_count:
        extra.update(_fetch_row_count_metadata(invocation, output) or {})
    extra.update(_fetch_column_metadata(invocation, output, True) or {})
    return output.with_metadata({**output.metadata, **extra}) if extra else output


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
