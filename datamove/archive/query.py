"""Query the warm and cold archive with DuckDB, counting exactly what the manifest counts.

    from datamove.archive.query import archive_query
    archive_query("SELECT date_trunc('month', created_at) AS m, count(*), sum(revenue) FROM tasks GROUP BY 1")

Each archived table is a view named after it over the files of its ``archived`` months
in ``archive.manifest`` (not a glob: a file of an unfinished attempt is never read).
Remote archives (``gs://``) are read through the same fsspec filesystem the archive
writes with, registered with DuckDB, so no DuckDB extension is needed.
"""

from __future__ import annotations

import os
from collections import defaultdict

import duckdb
import pyarrow as pa

from datamove.archive.archiver import list_archives, recorded_file
from datamove.archive.storage import ArchiveStore
from foundation.settings import load_settings


def archive_connection(warehouse_dsn: str | None = None, archive_url: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per archived table (``tasks``, ``chat_messages``, ``llm_usage``)."""
    settings = load_settings()
    dsn = warehouse_dsn or settings.warehouse_dsn or os.environ.get("PLATFORM_WAREHOUSE_DSN")
    if not dsn:
        raise RuntimeError("no warehouse DSN: start the embedded stack or set PLATFORM_WAREHOUSE_DSN")
    store = ArchiveStore(archive_url or settings.archive_url)
    files: dict[str, list[str]] = defaultdict(list)
    for entry in list_archives(dsn):
        if entry.state == "archived":
            # only files inside the archive root whose records carry their digest (else VerificationError)
            files[entry.table].extend(store.url_of(recorded_file(store, f)) for f in entry.files)
    con = duckdb.connect()
    if not store.is_local:
        con.register_filesystem(store.fs)
    for table, paths in files.items():
        con.read_parquet(paths, union_by_name=True).create_view(table)
    return con


def archive_query(query: str, warehouse_dsn: str | None = None, archive_url: str | None = None) -> pa.Table:
    """Run ``query`` over the archived tables; returns an Arrow table."""
    con = archive_connection(warehouse_dsn, archive_url)
    try:
        return con.sql(query).to_arrow_table()
    finally:
        con.close()
