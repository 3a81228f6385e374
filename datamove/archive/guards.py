"""Keep raw and the archive disjoint: an archived month cannot be extracted into raw again.

``refuse_archived_window_in_transaction`` is a ``before`` step of the raw load's policy
(``orchestration/defs/raw/assets.py``): it runs inside the extraction's transaction, which
holds the raw layer's lock on the table, before anything is written. Archiving takes the
same lock, so an archive committing while a load starts cannot slip by. The message says
how to proceed. ``refuse_archived_window`` is the same check on a connection of its own.
"""

from __future__ import annotations

import psycopg

from datamove.archive import manifest as mf
from datamove.archive.policy import ARCHIVED_TABLES, month_label
from foundation.catalog import SourceTable, Window
from foundation.connections import connect


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
                                          window: Window | None) -> None:
    _check(conn, table, window)
