"""Keep raw and the archive disjoint: an archived month cannot be extracted into raw again.

Two checks, registered with the raw layer when this package is imported:

- ``refuse_archived_window`` (a ``BEFORE_LOAD_GUARDS`` entry) refuses the window before
  anything is written, with a message that says how to proceed;
- ``refuse_archived_window_in_transaction`` (an ``AFTER_LOAD_HOOKS`` entry) repeats the
  check inside the extraction's transaction, which holds the raw layer's lock on the
  table: an archive that committed between the first check and the load cannot slip by,
  because archiving takes that same lock.
"""

from __future__ import annotations

import psycopg

from orchestration.connections import connect
from orchestration.defs.archive import manifest as mf
from orchestration.defs.archive.policy import ARCHIVED_TABLES, month_label
from orchestration.defs.raw.catalog import SourceTable
from orchestration.defs.raw.extract import Window


class ArchivedWindowError(RuntimeError):
    """The window overlaps a month whose rows now live in the Parquet archive."""


def _check(conn: psycopg.Connection, table: SourceTable, window: Window | None) -> None:
    if window is None or table.name not in ARCHIVED_TABLES:
        return
    archived = mf.archived_months_between(conn, table.name, window.start, window.end)
    if archived:
        months = ", ".join(f"{month_label(e.month)} ({e.tier}, {e.totals.rows} rows)" for e in archived)
        first = month_label(archived[0].month)
        raise ArchivedWindowError(
            f"raw/{table.name} [{window.start}, {window.end}) overlaps archived month(s) {months}: their rows "
            f"live in the Parquet archive, and extracting them again would count them twice. Restore first: "
            f"platform archive restore --table {table.name} --month {first}")


def refuse_archived_window(warehouse_dsn: str, table: SourceTable, window: Window | None) -> None:
    if window is None or table.name not in ARCHIVED_TABLES:
        return
    with connect(warehouse_dsn) as conn:
        _check(conn, table, window)


def refuse_archived_window_in_transaction(conn: psycopg.Connection, table: SourceTable,
                                          window: Window | None) -> dict[str, object]:
    _check(conn, table, window)
    return {}


def register() -> None:
    """Idempotent: importing the package twice must not run the checks twice."""
    from orchestration.defs.raw.assets import AFTER_LOAD_HOOKS, BEFORE_LOAD_GUARDS

    if refuse_archived_window not in BEFORE_LOAD_GUARDS:
        BEFORE_LOAD_GUARDS.append(refuse_archived_window)
    if refuse_archived_window_in_transaction not in AFTER_LOAD_HOOKS:
        AFTER_LOAD_HOOKS.append(refuse_archived_window_in_transaction)
