"""Crafted manifests: every path in `archive.manifest` stays inside the archive root, and no file is
read without the digest its bytes must match (restore, the DuckDB query and the cold move alike)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from datamove.archive.archiver import VerificationError, archive_month, list_archives, restore_month
from datamove.archive.policy import next_month
from datamove.archive.query import archive_query
from datamove.archive.storage import ArchivePathError, ArchiveStore
from tests.archive.conftest import WARM_SHIFTS
from tests.archive.scratch import ScratchWarehouse, counted_rows, raw_rows

HOSTILE_PATHS = [
    "../../etc/hostname",
    "/etc/hostname",
    "warm/tasks/../../../etc/hostname",
    "warm//tasks.parquet",
    "./warm/tasks.parquet",
    "gs://another-bucket/tasks.parquet",
    "file:///etc/hostname",
    "warm\\..\\..\\etc\\hostname",
    "",
    None,
    42,
]


@pytest.mark.parametrize("root", ["local", "memory://bucket/prefix", "gs://bucket/prefix"])
def test_resolve_keeps_every_manifest_path_inside_the_root(root: str, tmp_path: Path) -> None:
    # memory:// and gs:// take the non-local fsspec path that production's gs:// archive takes
    url = str(tmp_path / "archive") if root == "local" else root
    store = ArchiveStore(url, **({"token": "anon"} if root.startswith("gs://") else {}))

    for relative in HOSTILE_PATHS:
        with pytest.raises(ArchivePathError):
            store.resolve(relative)
    inside = store.resolve("warm/tasks/year=2025/month=03/tasks-2025-03.parquet")
    assert str(inside) == f"{url.rstrip('/')}/warm/tasks/year=2025/month=03/tasks-2025-03.parquet"


def test_a_symbolic_link_out_of_a_local_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tasks.parquet").write_bytes(b"not yours")
    root = tmp_path / "archive"
    (root / "warm").mkdir(parents=True)
    os.symlink(outside, root / "warm" / "tasks")

    with pytest.raises(ArchivePathError, match="symbolic link"):
        ArchiveStore(str(root)).resolve("warm/tasks/tasks.parquet")


def _record(dsn: str, table: str, month: date) -> list[dict[str, Any]]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT files FROM archive.manifest WHERE table_name = %s AND month = %s",
                           (table, month)).fetchone()
    assert row is not None
    return row[0]


def _set_files(dsn: str, table: str, month: date, files: list[dict[str, Any]]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE archive.manifest SET files = %s WHERE table_name = %s AND month = %s",
                     (Jsonb(files), table, month))


@contextmanager
def _crafted(dsn: str, table: str, month: date, files: list[dict[str, Any]]) -> Iterator[None]:
    """The manifest's files replaced for the block, then the true record put back."""
    true = _record(dsn, table, month)
    _set_files(dsn, table, month, files)
    try:
        yield
    finally:
        _set_files(dsn, table, month, true)


def _still_archived(dsn: str, table: str, month: date) -> bool:
    [entry] = [e for e in list_archives(dsn, table) if e.month == month]
    return entry.state == "archived" and entry.tier == "warm"


@pytest.mark.calendar  # which months are warm depends on today
@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_manifest_path_out_of_the_root_is_never_read(scratch: ScratchWarehouse, tmp_path: Path,
                                                       where: str) -> None:
    archive_url = str(tmp_path / "archive")
    months = scratch.months("tasks", WARM_SHIFTS[0])
    month = months[0] if where == "relative" else months[-1]
    before = counted_rows(scratch.dsn, archive_url, "tasks", month)
    outcome = archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    # a file with the archived bytes (so its digest matches) outside the root
    outside = tmp_path / "outside" / "tasks.parquet"
    outside.parent.mkdir()
    shutil.copyfile(outcome.files[0], outside)
    [record] = _record(scratch.dsn, "tasks", month)
    path = "../outside/tasks.parquet" if where == "relative" else str(outside)

    with _crafted(scratch.dsn, "tasks", month, [{**record, "path": path}]):
        with pytest.raises(VerificationError, match="outside the archive root"):
            restore_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
        assert raw_rows(scratch.dsn, "tasks", month) == [] and _still_archived(scratch.dsn, "tasks", month)
        with pytest.raises(VerificationError, match="outside the archive root"):
            archive_query("SELECT count(*) FROM tasks", scratch.dsn, archive_url)
        with pytest.raises(VerificationError, match="outside the archive root"):  # the warm -> cold move
            archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url,
                          today=next_month(month) + timedelta(days=800))
        assert _still_archived(scratch.dsn, "tasks", month)

    restore_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)  # the true record works
    assert raw_rows(scratch.dsn, "tasks", month) == before


@pytest.mark.calendar
@pytest.mark.parametrize("digest", ["missing", "empty"])
def test_a_manifest_record_without_its_digest_is_never_read(scratch: ScratchWarehouse, archive_url: str,
                                                            digest: str) -> None:
    months = scratch.months("chat_messages", WARM_SHIFTS[0])
    month = months[0] if digest == "missing" else months[-1]
    before = counted_rows(scratch.dsn, archive_url, "chat_messages", month)
    archive_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    [record] = _record(scratch.dsn, "chat_messages", month)
    unverifiable = {k: v for k, v in record.items() if k != "blake2b"} | ({"blake2b": ""} if digest == "empty" else {})

    with _crafted(scratch.dsn, "chat_messages", month, [unverifiable]):
        with pytest.raises(VerificationError, match="no BLAKE2b digest"):
            restore_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
        assert raw_rows(scratch.dsn, "chat_messages", month) == []
        assert _still_archived(scratch.dsn, "chat_messages", month)
        with pytest.raises(VerificationError, match="no BLAKE2b digest"):
            archive_query("SELECT count(*) FROM chat_messages", scratch.dsn, archive_url)

    restore_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert raw_rows(scratch.dsn, "chat_messages", month) == before
