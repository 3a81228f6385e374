"""Arrow ⇄ Parquet for the archive: typed columns, streamed batches, totals that prove a copy.

ADBC hands PostgreSQL ``numeric`` over as an opaque string extension type; it becomes
``decimal128(precision, scale)`` from the column's typmod (exact, and a value that would
not fit fails the cast instead of being rounded). Timestamps stay ``timestamp[us, UTC]``.
Verification of a written file has two parts: its bytes, read back, must hash to the
digest of the bytes the writer emitted (any flipped byte or truncation on the storage), and
its id and checksum columns, decoded from the file, must total what was written (the rows
are the right ones). Pages also carry CRCs, checked whenever a page is decoded.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

T = TypeVar("T")

UNCONSTRAINED_NUMERIC = pa.decimal128(38, 10)
_TYPMOD_KEY = b"POSTGRESQL:typmod"
_VERIFY_BATCH_ROWS = 128 * 1024
_HASH_CHUNK = 8 << 20


class UnsupportedColumnError(TypeError):
    """A PostgreSQL type the archive cannot store with its meaning intact."""


def _numeric_type(source: pa.Field) -> pa.DataType:
    typmod = int((source.metadata or {}).get(_TYPMOD_KEY, b"-1"))
    if typmod < 4:
        return UNCONSTRAINED_NUMERIC
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def _is_opaque(data_type: pa.DataType) -> bool:
    return isinstance(data_type, pa.OpaqueType)


def typed_schema(source: pa.Schema) -> pa.Schema:
    """The schema the Parquet files get: ADBC's schema with NUMERIC as decimals."""
    fields = []
    for column in source:
        if _is_opaque(column.type):
            if column.type.type_name != "numeric":
                raise UnsupportedColumnError(f"column {column.name} has PostgreSQL type {column.type.type_name}")
            column = pa.field(column.name, _numeric_type(column), column.nullable, column.metadata)
        fields.append(column)
    return pa.schema(fields, metadata=source.metadata)


def to_typed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for array, target in zip(batch.columns, schema, strict=True):
        if array.type != target.type:
            storage = array.storage if isinstance(array, pa.ExtensionArray) else array
            array = pc.cast(storage, target.type)  # safe cast: raises rather than round
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class Totals:
    """Row count, SUM(id) and SUM(checksum column) of a set of rows: equal totals, same rows."""

    rows: int = 0
    id_sum: int = 0
    checksum: Decimal | None = None

    def add(self, batch: pa.RecordBatch, id_column: str, checksum_column: str) -> None:
        self.rows += batch.num_rows
        self.id_sum += int(pc.sum(batch.column(id_column)).as_py() or 0)
        part = pc.sum(batch.column(checksum_column)).as_py()
        if part is not None:
            self.checksum = (self.checksum or Decimal(0)) + Decimal(str(part))

    @classmethod
    def of(cls, rows: int, id_sum: Any, checksum: Any) -> Totals:
        return cls(rows=int(rows), id_sum=int(id_sum or 0), checksum=_as_decimal(checksum))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Totals):
            return NotImplemented
        return (self.rows, self.id_sum, self.checksum) == (other.rows, other.id_sum, other.checksum)

    def __hash__(self) -> int:
        return hash((self.rows, self.id_sum, self.checksum))

    def describe(self) -> str:
        return f"{self.rows} rows, sum(id)={self.id_sum}, checksum={self.checksum}"

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "id_sum": str(self.id_sum),
                "checksum": None if self.checksum is None else str(self.checksum)}


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` ahead (ADBC decoding overlaps Parquet encoding).

    Memory stays bounded by ``depth`` items; an error in the producer is raised here.
    """
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("done", None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            slots.put(("error", error))

    worker = threading.Thread(target=produce, name="arrow-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)


class DigestingSink:
    """A write-only file object that hashes what passes through it (BLAKE2b) and counts the bytes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hasher = hashlib.blake2b(digest_size=32)
        self.size = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self.hasher.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:  # the owner closes the underlying file
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def digest(self) -> str:
        return self.hasher.hexdigest()


def write_parquet(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    sink: IO[bytes],
    *,
    id_column: str,
    checksum_column: str,
    zstd_level: int,
    after_batch: Callable[[], None] | None = None,
) -> tuple[Totals, str, int]:
    """Stream batches into one Parquet file (zstd, page CRCs).

    Returns the totals of the rows written, the BLAKE2b digest of the file's bytes and its size.
    """
    totals = Totals()
    digesting = DigestingSink(sink)
    with pq.ParquetWriter(digesting, schema, compression="zstd", compression_level=zstd_level,
                          write_page_checksum=True) as writer:
        for batch in batches:
            writer.write_batch(batch)
            totals.add(batch, id_column, checksum_column)
            if after_batch is not None:
                after_batch()
    return totals, digesting.digest, digesting.size


def file_digest(source: IO[bytes]) -> tuple[str, int]:
    """BLAKE2b digest and size of a file's bytes, read in chunks."""
    hasher, size = hashlib.blake2b(digest_size=32), 0
    while chunk := source.read(_HASH_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def read_totals(source: IO[bytes], *, id_column: str, checksum_column: str,
                schema: pa.Schema | None = None) -> Totals:
    """Decode a Parquet file's id and checksum columns (page CRCs checked) and total them.

    Raises on a truncated or corrupt file, a footer whose row count disagrees with the
    pages, or (with ``schema``) columns of other names or types.
    """
    parquet = pq.ParquetFile(source, page_checksum_verification=True)
    if schema is not None and not parquet.schema_arrow.remove_metadata().equals(schema.remove_metadata()):
        raise ValueError(f"Parquet schema {parquet.schema_arrow} differs from the expected {schema}")
    totals = Totals()
    for batch in parquet.iter_batches(batch_size=_VERIFY_BATCH_ROWS, columns=[id_column, checksum_column]):
        totals.add(batch, id_column, checksum_column)
    if totals.rows != parquet.metadata.num_rows:
        raise ValueError(f"Parquet footer says {parquet.metadata.num_rows} rows, its pages hold {totals.rows}")
    return totals


def iter_file_batches(source: IO[bytes]) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    parquet = pq.ParquetFile(source, page_checksum_verification=True)
    return parquet.schema_arrow, parquet.iter_batches(batch_size=_VERIFY_BATCH_ROWS, use_threads=True)
