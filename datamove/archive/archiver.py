"""Move a month of a raw table between PostgreSQL (hot) and Parquet (warm, cold), never losing a row.

Archiving a month, under the table's archive lock and the raw layer's lock:

1. a transaction starts deleting the month's rows (``DELETE … RETURNING`` folded into
   count / SUM(id) / SUM(checksum column)) in a background thread: nothing is committed;
2. meanwhile ADBC streams the same rows as Arrow batches into a Parquet file under a
   temporary name (typed columns, zstd, page CRCs);
3. the file is read back whole and its totals compared with what was written;
4. it is published by renaming it to its final name;
5. the deleted totals must equal the file's; then ``archive.manifest`` is set to
   ``archived`` and the transaction commits: the rows leave PostgreSQL and the month
   becomes counted from Parquet in the same instant;
6. ``_manifest.json`` is written beside the file and leftovers of crashed attempts are removed.

A crash before step 5 commits rolls the delete back (PostgreSQL still has every row, the
manifest does not count any file); after it, the rows are in a verified, published file.
Re-running finishes or redoes the work. Moving warm → cold and restoring follow the same
rule: the manifest changes in the transaction that makes the new copy the counted one,
and the old copy is removed only afterwards.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql
from upath import UPath

from datamove.archive import manifest as mf
from datamove.archive.arrow_io import (
    Totals,
    file_digest,
    iter_file_batches,
    prefetched,
    read_totals,
    to_typed,
    typed_schema,
    write_parquet,
)
from datamove.archive.policy import (
    COLD_ZSTD_LEVEL,
    WARM_ZSTD_LEVEL,
    ArchivedTable,
    archived_table,
    month_label,
    next_month,
    parse_month,
)
from datamove.archive.storage import TIERS, ArchivePathError, ArchiveStore
from datamove.faults import fault_point
from foundation.catalog import PARTITION_DATE_COLUMN, RAW_SCHEMA
from foundation.connections import connect
from foundation.settings import mask_dsn

log = logging.getLogger(__name__)

_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")  # "" is '', unquoted empty is NULL


class ArchiveError(RuntimeError):
    """The archive refused or could not finish; every row is still counted exactly once."""


class HotMonthError(ArchiveError):
    """The month is still inside the hot window: it stays in PostgreSQL."""


class VerificationError(ArchiveError):
    """A file read back (or rows deleted / restored) differ from what they must equal."""


class ArchiveConflictError(ArchiveError):
    """PostgreSQL and the archive both claim rows of a month."""


@dataclass
class ArchiveOutcome:
    table: str
    month: date
    action: str  # archived | moved_to_cold | already_archived | restored | already_restored | skipped
    tier: str | None = None
    totals: Totals = field(default_factory=Totals)
    bytes: int = 0
    files: list[str] = field(default_factory=list)  # full URLs
    manifest_url: str | None = None
    seconds: float = 0.0
    reason: str | None = None

    @property
    def rows_per_second(self) -> float:
        return self.totals.rows / self.seconds if self.seconds else 0.0


# -- SQL helpers -----------------------------------------------------------------------


def _raw(table: str) -> sql.Composed:
    return sql.SQL("{}").format(sql.Identifier(RAW_SCHEMA, table))


def _month_filter(month: date) -> sql.Composed:
    return sql.SQL("{col} >= {start} AND {col} < {end}").format(
        col=sql.Identifier(PARTITION_DATE_COLUMN), start=sql.Literal(month), end=sql.Literal(next_month(month)))


def _totals_sql(spec: ArchivedTable) -> sql.Composed:
    return sql.SQL("count(*), sum({}), sum({})").format(
        sql.Identifier(spec.id_column), sql.Identifier(spec.checksum_column))


def _raw_exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{RAW_SCHEMA}.{table}",)).fetchone()[0]  # type: ignore[index]


def _raw_totals(conn: psycopg.Connection, spec: ArchivedTable, month: date) -> Totals:
    row = conn.execute(sql.SQL("SELECT {} FROM {} WHERE {}").format(
        _totals_sql(spec), _raw(spec.name), _month_filter(month))).fetchone()
    assert row is not None
    return Totals.of(*row)


def _raw_has_rows(conn: psycopg.Connection, spec: ArchivedTable, month: date) -> bool:
    row = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(
        _raw(spec.name), _month_filter(month))).fetchone()
    return bool(row and row[0])


@contextmanager
def table_lock(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """Session lock: one archive/restore per table at a time, held across commits until the end."""
    key = f"{mf.SCHEMA}.{table}"
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
    conn.commit()
    try:
        yield
    finally:
        # A lost connection releases the lock by itself; never hide the original error.
        with suppress(psycopg.Error):
            if not conn.closed:
                conn.rollback()
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
                conn.commit()


class _Deleter(threading.Thread):
    """Runs the month's DELETE in the archive transaction while the file is being written."""

    def __init__(self, conn: psycopg.Connection, spec: ArchivedTable, month: date) -> None:
        super().__init__(name=f"archive-delete-{spec.name}", daemon=True)
        self.statement = sql.SQL("WITH gone AS (DELETE FROM {} WHERE {} RETURNING {}, {}) "
                                 "SELECT count(*), sum({}), sum({}) FROM gone").format(
            _raw(spec.name), _month_filter(month), sql.Identifier(spec.id_column),
            sql.Identifier(spec.checksum_column), sql.Identifier(spec.id_column),
            sql.Identifier(spec.checksum_column))
        self.conn = conn
        self.totals: Totals | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            row = self.conn.execute(self.statement).fetchone()
            assert row is not None
            self.totals = Totals.of(*row)
        except BaseException as error:  # noqa: BLE001 - re-raised by result()
            self.error = error

    def result(self) -> Totals:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.totals is not None
        return self.totals


# -- files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Written:
    totals: Totals
    digest: str  # BLAKE2b of the bytes the writer emitted
    size: int


def _file_record(store: ArchiveStore, path: Any, written: _Written) -> dict[str, Any]:
    return {"path": store.relative(path), "bytes": written.size, "blake2b": written.digest,
            **written.totals.as_json()}


def _check_bytes(store: ArchiveStore, path: Any, digest: str, size: int, what: str) -> None:
    try:
        with store.open_read(path) as handle:
            found, found_size = file_digest(handle)
    except OSError as error:
        raise VerificationError(f"{what} {store.url_of(path)} cannot be read back: {error}") from error
    if (found, found_size) != (digest, size):
        raise VerificationError(f"{what} {store.url_of(path)} holds {found_size} bytes that differ from the "
                                f"{size} bytes written (BLAKE2b {found[:16]}… ≠ {digest[:16]}…)")


def _verify(store: ArchiveStore, path: Any, spec: ArchivedTable, expected: _Written, schema: pa.Schema | None,
            what: str) -> Totals:
    """The file's bytes are the ones written, and its rows total what was written."""
    _check_bytes(store, path, expected.digest, expected.size, what)
    try:
        with store.open_read(path) as handle:
            found = read_totals(handle, id_column=spec.id_column, checksum_column=spec.checksum_column,
                                schema=schema)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise VerificationError(f"{what} {store.url_of(path)} cannot be read back: {error}") from error
    if found != expected.totals:
        raise VerificationError(
            f"{what} {store.url_of(path)} holds {found.describe()}, expected {expected.totals.describe()}")
    return found


# Types ADBC hands over as opaque or binary values (a uuid as 16 bytes, jsonb as its wire format) that
# the CSV restore could not give back: they are archived as their PostgreSQL text, which COPY parses
# back into the same value.
_AS_TEXT_TYPES = ("uuid", "json", "jsonb", "inet", "cidr", "macaddr", "interval", "xml")


def _select_list(conn: psycopg.Connection, table: str) -> str:
    rows = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (f"{RAW_SCHEMA}.{table}",)).fetchall()
    parts = []
    for name, type_name in rows:
        ident = sql.Identifier(name).as_string(conn)
        parts.append(f"{ident}::text AS {ident}" if type_name in _AS_TEXT_TYPES else ident)
    return ", ".join(parts) or "*"


def _write_month(dsn: str, store: ArchiveStore, spec: ArchivedTable, month: date, temp: Any,
                 level: int) -> tuple[pa.Schema, _Written]:
    """Stream the month's rows from PostgreSQL (ADBC, Arrow batches) into one Parquet file."""
    with connect(dsn) as conn:
        select_list = _select_list(conn, spec.name)
    query = (f"SELECT {select_list} FROM {RAW_SCHEMA}.{spec.name} "  # noqa: S608 - catalog names and dates
             f"WHERE {PARTITION_DATE_COLUMN} >= DATE '{month.isoformat()}' "
             f"AND {PARTITION_DATE_COLUMN} < DATE '{next_month(month).isoformat()}'")
    with adbc.connect(dsn) as reader_conn, reader_conn.cursor() as cursor:
        cursor.execute(query)
        reader = cursor.fetch_record_batch()
        schema = typed_schema(reader.schema)
        batches = prefetched(to_typed(batch, schema) for batch in reader)
        with store.open_write(temp) as sink:
            written = _Written(*write_parquet(batches, schema, sink, id_column=spec.id_column,
                                              checksum_column=spec.checksum_column, zstd_level=level,
                                              after_batch=lambda: fault_point("archive.batch_written")))
        reader_conn.rollback()
    return schema, written


def _leftovers(store: ArchiveStore, table: str, month: date, keep: set[str]) -> list[Any]:
    """Files of the month's folders (both tiers) that the manifest does not count."""
    found = []
    for tier in TIERS:
        for path in store.listing(store.month_dir(tier, table, month)):
            if store.relative(path) not in keep:
                found.append(path)
    return found


def _finish(store: ArchiveStore, entry: mf.ManifestEntry) -> str | None:
    """Make the folders match the manifest: its ``_manifest.json`` written, every other file removed."""
    keep: set[str] = set()
    manifest_url = None
    if entry.state == "archived":
        keep = {f["path"] for f in entry.files}
        manifest_path = store.manifest_file(entry.tier, entry.table, entry.month)
        keep.add(store.relative(manifest_path))
        if store.read_json(manifest_path) != entry.as_json():
            store.write_json(manifest_path, entry.as_json())
        fault_point("archive.manifest_written")
        manifest_url = store.url_of(manifest_path)
    for path in _leftovers(store, entry.table, entry.month, keep):
        log.info("removing %s (not counted by the manifest)", store.url_of(path))
        store.remove(path)
        fault_point("archive.leftover_removed")
    return manifest_url


def _outcome(store: ArchiveStore, entry: mf.ManifestEntry, action: str, started: float,
             manifest_url: str | None) -> ArchiveOutcome:
    return ArchiveOutcome(
        table=entry.table, month=entry.month, action=action, tier=entry.tier, totals=entry.totals,
        bytes=entry.bytes, files=[store.url_of(recorded_file(store, f)) for f in entry.files],
        manifest_url=manifest_url, seconds=time.perf_counter() - started,
    )


# -- archive ---------------------------------------------------------------------------


def archive_month(table: str, month: str | date, *, warehouse_dsn: str, archive_url: str,
                  today: date | None = None) -> ArchiveOutcome:
    """Archive one month of ``raw.<table>`` (idempotent; moves a warm month to cold once it is 2 years old).

    Raises ``HotMonthError`` for a month inside the hot window.
    """
    spec = archived_table(table)
    month = parse_month(month)
    tier = spec.tier(month, today)
    if tier == "hot":
        until = next_month(month) + timedelta(days=spec.hot_days)
        raise HotMonthError(
            f"{table} {month_label(month)} is inside the hot window (rows of the last {spec.hot_days} days stay in "
            f"PostgreSQL); it can be archived from {until.isoformat()}")
    store = ArchiveStore(archive_url)
    started = time.perf_counter()
    mf.ensure_manifest_table(warehouse_dsn)
    with connect(warehouse_dsn) as conn, table_lock(conn, table):
        entry = mf.read_entry(conn, table, month)
        if entry is not None and entry.state == "archived":
            return _archived_already(conn, store, spec, entry, tier, started)
        if not _raw_exists(conn, table):
            return ArchiveOutcome(table, month, "skipped", reason=f"{RAW_SCHEMA}.{table} does not exist yet")
        mf.lock_raw_table(conn, table)
        if not _raw_has_rows(conn, spec, month):
            conn.rollback()
            return ArchiveOutcome(table, month, "skipped", reason=(
                f"{RAW_SCHEMA}.{table} holds no rows of {month_label(month)}: nothing to archive (an empty month "
                "is not recorded, so a later extraction of it stays possible)"))
        # Files of an unfinished attempt are not counted by anyone: start clean.
        for path in _leftovers(store, table, month, keep=set()):
            store.remove(path)
        totals, files, size = _archive_rows(conn, warehouse_dsn, store, spec, month, tier)
        mf.record_archived(conn, table=table, month=month, tier=tier, files=files, totals=totals,
                           checksum_column=spec.checksum_column, size=size, archive_url=store.url)
        fault_point("archive.before_commit")
        conn.commit()
        fault_point("archive.committed")
        entry = mf.read_entry(conn, table, month)
        assert entry is not None
        manifest_url = _finish(store, entry)
        conn.commit()
    outcome = _outcome(store, entry, "archived", started, manifest_url)
    log.info("archived %s %s to %s: %s, %.1f MB in %.2fs", table, month_label(month), tier,
             totals.describe(), size / 1e6, outcome.seconds)
    return outcome


def _archive_rows(conn: psycopg.Connection, dsn: str, store: ArchiveStore, spec: ArchivedTable, month: date,
                  tier: str) -> tuple[Totals, list[dict[str, Any]], int]:
    final = store.data_file(tier, spec.name, month)
    temp = store.temp_for(final)
    level = COLD_ZSTD_LEVEL if tier == "cold" else WARM_ZSTD_LEVEL
    deleter = _Deleter(conn, spec, month)
    deleter.start()
    published = False
    try:
        schema, written = _write_month(dsn, store, spec, month, temp, level)
        fault_point("archive.written")
        _verify(store, temp, spec, written, schema, "written file")
        fault_point("archive.verified")
        store.publish(temp, final)
        published = True
        fault_point("archive.published")
        deleted = deleter.result()
        if deleted != written.totals:
            raise ArchiveConflictError(
                f"{spec.name} {month_label(month)}: the transaction would delete {deleted.describe()} but the file "
                f"holds {written.totals.describe()}; rolled back, nothing deleted")
    except BaseException:
        if deleter.is_alive():
            conn.cancel_safe()  # stop the DELETE now; the transaction rolls back anyway
        deleter.join()
        store.remove(temp)
        if published:  # not counted (the manifest was not committed); tidy it now rather than at the next run
            store.remove(final)
        raise
    return written.totals, [_file_record(store, final, written)], written.size


def _archived_already(conn: psycopg.Connection, store: ArchiveStore, spec: ArchivedTable,
                      entry: mf.ManifestEntry, tier: str, started: float) -> ArchiveOutcome:
    present = _raw_totals(conn, spec, entry.month) if _raw_exists(conn, spec.name) else Totals()
    if present.rows:
        raise ArchiveConflictError(
            f"raw.{spec.name} holds {present.rows} rows of {month_label(entry.month)}, which is archived "
            f"({entry.tier}, {entry.totals.rows} rows): restore the month (platform archive restore --table "
            f"{spec.name} --month {month_label(entry.month)}) before extracting it again")
    action = "already_archived"
    if entry.tier == "warm" and tier == "cold":
        entry = _move_to_cold(conn, store, spec, entry)
        action = "moved_to_cold"
    conn.commit()
    manifest_url = _finish(store, entry)
    return _outcome(store, entry, action, started, manifest_url)


def _move_to_cold(conn: psycopg.Connection, store: ArchiveStore, spec: ArchivedTable,
                  entry: mf.ManifestEntry) -> mf.ManifestEntry:
    """Rewrite a warm month with cold compression; the manifest switches to it only once it is verified."""
    final = store.data_file("cold", spec.name, entry.month)
    temp = store.temp_for(final)
    try:
        try:
            with store.open_read(recorded_file(store, entry.files[0])) as first:
                schema, _ = iter_file_batches(first)
            with store.open_write(temp) as sink:
                written = _Written(*write_parquet(
                    _file_batches(store, entry), schema, sink, id_column=spec.id_column,
                    checksum_column=spec.checksum_column, zstd_level=COLD_ZSTD_LEVEL))
        except (OSError, ValueError, pa.ArrowException) as error:
            raise VerificationError(f"warm files of {spec.name} {month_label(entry.month)} cannot be read: "
                                    f"{error}; not moved") from error
        if written.totals != entry.totals:  # the warm copy itself is damaged: keep it, and say so
            raise VerificationError(f"warm files of {spec.name} {month_label(entry.month)} hold "
                                    f"{written.totals.describe()}, the manifest says {entry.totals.describe()}; "
                                    "not moved")
        fault_point("cold.written")
        _verify(store, temp, spec, written, schema, "cold file")
        store.publish(temp, final)
        fault_point("cold.published")
    except BaseException:
        store.remove(temp)
        raise
    mf.record_moved(conn, table=spec.name, month=entry.month, tier="cold",
                    files=[_file_record(store, final, written)], size=written.size)
    fault_point("cold.before_commit")
    conn.commit()
    fault_point("cold.committed")
    moved = mf.read_entry(conn, spec.name, entry.month)
    assert moved is not None
    log.info("moved %s %s to cold (%.1f MB)", spec.name, month_label(entry.month), moved.bytes / 1e6)
    return moved


def recorded_file(store: ArchiveStore, record: Any) -> UPath:
    """The file a record of ``archive.manifest`` names: inside the archive root, with its digest recorded.

    The manifest is data anyone with the owner role can write: a path that leads out of the root,
    or a record without the BLAKE2b digest and size its bytes must match, is refused, not read.
    """
    if not isinstance(record, dict):
        raise VerificationError(f"archive.manifest holds a file record that is not an object: {record!r}")
    try:
        path = store.resolve(record.get("path"))
    except ArchivePathError as error:
        raise VerificationError(f"archive.manifest names a file outside the archive root: {error}; not read") from error
    digest, size = record.get("blake2b"), record.get("bytes")
    if not (isinstance(digest, str) and digest and isinstance(size, int) and not isinstance(size, bool)):
        raise VerificationError(f"archive.manifest records no BLAKE2b digest and size for {store.url_of(path)}: "
                                "an archived file is only read when its bytes can be checked")
    return path


def _check_recorded(store: ArchiveStore, record: Any, what: str) -> UPath:
    """A file at rest must still be the bytes the manifest recorded; returns its path."""
    path = recorded_file(store, record)
    _check_bytes(store, path, record["blake2b"], record["bytes"], what)
    return path


def _file_batches(store: ArchiveStore, entry: mf.ManifestEntry) -> Iterator[pa.RecordBatch]:
    for record in entry.files:
        path = _check_recorded(store, record, "archived file")
        with store.open_read(path) as source:
            _, batches = iter_file_batches(source)
            yield from batches


# -- restore ---------------------------------------------------------------------------


def restore_month(table: str, month: str | date, *, warehouse_dsn: str, archive_url: str) -> ArchiveOutcome:
    """Put an archived month back into ``raw.<table>`` (verified), then remove its files (idempotent)."""
    spec = archived_table(table)
    month = parse_month(month)
    store = ArchiveStore(archive_url)
    started = time.perf_counter()
    mf.ensure_manifest_table(warehouse_dsn)
    with connect(warehouse_dsn) as conn, table_lock(conn, table):
        entry = mf.read_entry(conn, table, month)
        if entry is None:
            raise ArchiveError(f"{table} {month_label(month)} was never archived (see `platform archive list`)")
        if entry.state == "restored":
            conn.commit()
            _finish(store, entry)
            return _outcome(store, entry, "already_restored", started, None)
        mf.lock_raw_table(conn, table)
        present = _raw_totals(conn, spec, month)
        if present.rows:
            raise ArchiveConflictError(
                f"raw.{table} already holds {present.rows} rows of archived month {month_label(month)}; "
                "restoring would count them twice")
        copied = _copy_back(conn, store, spec, entry)
        fault_point("restore.copied")
        loaded = _raw_totals(conn, spec, month)
        if not copied == loaded == entry.totals:
            raise VerificationError(
                f"restoring {table} {month_label(month)}: files gave {copied.describe()}, raw now holds "
                f"{loaded.describe()}, the manifest says {entry.totals.describe()}; rolled back")
        mf.record_restored(conn, table, month)
        fault_point("restore.before_commit")
        conn.commit()
        fault_point("restore.committed")
        restored = mf.read_entry(conn, table, month)
        assert restored is not None
        _finish(store, restored)
        conn.commit()
    log.info("restored %s %s: %s", table, month_label(month), loaded.describe())
    return _outcome(store, restored, "restored", started, None)


def _copy_back(conn: psycopg.Connection, store: ArchiveStore, spec: ArchivedTable, entry: mf.ManifestEntry) -> Totals:
    """COPY the files' rows into raw (CSV written by Arrow's C++ writer: exact decimals, UTC timestamps)."""
    totals = Totals()
    for record in entry.files:
        path = _check_recorded(store, record, "archived file")
        with store.open_read(path) as source:
            try:
                schema, batches = iter_file_batches(source)
                columns = sql.SQL(", ").join(map(sql.Identifier, schema.names))
                copy_in = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(_raw(spec.name), columns)
                with conn.cursor() as cursor, cursor.copy(copy_in) as copy:
                    for batch in batches:
                        totals.add(batch, spec.id_column, spec.checksum_column)
                        buffer = io.BytesIO()
                        pa_csv.write_csv(batch, buffer, _CSV)
                        copy.write(buffer.getbuffer())
            except (OSError, ValueError, pa.ArrowException) as error:
                raise VerificationError(f"{store.url_of(path)} cannot be read: {error}") from error
    return totals


# -- listing ---------------------------------------------------------------------------


def list_archives(warehouse_dsn: str, table: str | None = None) -> list[mf.ManifestEntry]:
    try:
        with connect(warehouse_dsn, attempts=1) as conn:
            return mf.list_entries(conn, table)
    except psycopg.Error as error:
        raise ArchiveError(f"cannot read {mf.MANIFEST_TABLE} on {mask_dsn(warehouse_dsn)}: {error}") from error
