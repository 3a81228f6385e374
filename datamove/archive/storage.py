"""Where archive files live: one fsspec/UPath code path for a local folder and ``gs://``.

Layout under ``ARCHIVE_URL``::

    <tier>/<table>/year=YYYY/month=MM/<table>-YYYY-MM.parquet
    <tier>/<table>/year=YYYY/month=MM/_manifest.json
    <tier>/<table>/year=YYYY/month=MM/.<name>.tmp-<id>      (being written; never read)

Files are written under a temporary name beside their final one and published with one
rename (atomic on a local file system; on GCS a server-side copy, whose result appears
whole). Names starting with ``.`` or ``_`` are skipped by Arrow, DuckDB globs and Spark.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from typing import IO, Any

from upath import UPath

log = logging.getLogger(__name__)

TIERS = ("warm", "cold")
MANIFEST_NAME = "_manifest.json"
_TEMP_MARK = ".tmp-"
# what one segment of a path the archive writes is made of (<tier>/<table>/year=YYYY/month=MM/<file>)
_SEGMENT = re.compile(r"[A-Za-z0-9_.=-]+")


class ArchivePathError(ValueError):
    """A path recorded in a manifest that would lead out of the archive root."""


class ArchiveStore:
    """The archive root (``ARCHIVE_URL``) and the paths of every month's files."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url
        self.root = UPath(url, **storage_options)
        self.fs = self.root.fs
        self.is_local = self.root.protocol in ("", "file", "local")

    # -- paths ---------------------------------------------------------------------

    def month_dir(self, tier: str, table: str, month: date) -> UPath:
        return self.root / tier / table / f"year={month.year:04d}" / f"month={month.month:02d}"

    def data_file(self, tier: str, table: str, month: date) -> UPath:
        return self.month_dir(tier, table, month) / f"{table}-{month.year:04d}-{month.month:02d}.parquet"

    def manifest_file(self, tier: str, table: str, month: date) -> UPath:
        return self.month_dir(tier, table, month) / MANIFEST_NAME

    def relative(self, path: UPath) -> str:
        """The path relative to the root: what the manifest stores, so the root can move."""
        return path.path[len(self.root.path):].lstrip("/")

    def resolve(self, relative: object) -> UPath:
        """The file a manifest names by its path relative to the root; refused unless it stays inside.

        Judged by the path's segments, not by a file system, so a local folder and ``gs://`` (where
        ``..`` is no directory, yet a layer below may still normalise it) refuse the same paths: an
        absolute path, an empty, ``.`` or ``..`` segment, a URL, any character the layout never
        writes. A local root also refuses a symbolic link that leads out of it.
        """
        segments = relative.split("/") if isinstance(relative, str) else []
        if not segments or not all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
            raise ArchivePathError(f"{relative!r} is not a path inside the archive root {self.url}")
        path = self.root.joinpath(*segments)
        if self.is_local:
            root = os.path.realpath(self.root.path)
            if os.path.commonpath([root, os.path.realpath(path.path)]) != root:
                raise ArchivePathError(f"{relative!r} leads out of the archive root {self.url} (a symbolic link)")
        return path

    def url_of(self, path: UPath) -> str:
        return str(path)

    @staticmethod
    def temp_for(final: UPath) -> UPath:
        return final.parent / f".{final.name}{_TEMP_MARK}{uuid.uuid4().hex[:12]}"

    # -- file operations -------------------------------------------------------------

    @contextmanager
    def open_write(self, path: UPath) -> Iterator[IO[bytes]]:
        self.fs.makedirs(path.parent.path, exist_ok=True)
        with self.fs.open(path.path, "wb") as handle:
            yield handle
        self._sync(path)

    def open_read(self, path: UPath) -> IO[bytes]:
        return self.fs.open(path.path, "rb")

    def publish(self, temp: UPath, final: UPath) -> None:
        """Give a verified temporary file its final name in one step (replacing an unpublished leftover)."""
        if self.is_local:
            os.replace(temp.path, final.path)  # atomic, and replaces a stale file of a crashed attempt
            self._sync_dir(final.parent)
        else:
            self.fs.mv(temp.path, final.path)

    def exists(self, path: UPath) -> bool:
        return bool(self.fs.exists(path.path))

    def size(self, path: UPath) -> int:
        return int(self.fs.size(path.path))

    def remove(self, path: UPath) -> None:
        with suppress(FileNotFoundError):
            self.fs.rm(path.path)

    def listing(self, directory: UPath) -> list[UPath]:
        try:
            names = self.fs.ls(directory.path, detail=False)
        except FileNotFoundError:
            return []
        return [directory / str(name).rstrip("/").rsplit("/", 1)[-1] for name in names]

    def write_json(self, path: UPath, document: dict[str, Any]) -> None:
        """Write a small JSON file atomically (temporary name, then rename)."""
        temp = self.temp_for(path)
        with self.open_write(temp) as handle:
            handle.write(json.dumps(document, indent=2, sort_keys=True, default=str).encode())
        self.publish(temp, path)

    def read_json(self, path: UPath) -> dict[str, Any] | None:
        try:
            with self.open_read(path) as handle:
                return json.loads(handle.read())
        except FileNotFoundError:
            return None

    # -- durability (local only: object stores acknowledge a write once it is durable) ---

    def _sync(self, path: UPath) -> None:
        if self.is_local:
            fd = os.open(path.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _sync_dir(self, directory: UPath) -> None:
        fd = os.open(directory.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_temporary(path: UPath) -> bool:
    return path.name.startswith(".") and _TEMP_MARK in path.name
