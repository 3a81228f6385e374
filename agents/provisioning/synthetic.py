"""Synthetic demo data that respects a ``SchemaDesign``: types, unique primary keys, real foreign keys.

Columns are generated with numpy (vectorised: a 200k-row fact table takes well under a
second) and Faker for human-looking strings. Faker fills a bounded pool of values per
column that numpy then samples from, so the cost does not grow with the row count.
Everything is seeded from the request id and the table name, and dates are anchored on
a date stored in the graph state: regenerating after a crash gives the same bytes.

The design comes from an LLM that read the customer's website, so its size is bounded
here too, whatever validation it passed: Faker providers only from the allow-list of
``agents.schemas.FAKER_PROVIDERS`` (others become ``word``), every string value cut to
``MAX_VALUE_BYTES``, and a table whose columns add up to more than ``MAX_TABLE_BYTES``
is refused (``SyntheticDataTooLarge``) column by column, before it is all in memory.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from faker import Faker

from agents.schemas import FAKER_PROVIDERS, ColumnSpec, SchemaDesign, TableSpec

log = logging.getLogger(__name__)

HISTORY_DAYS = 730
_POOL_SIZE = 2000
MAX_VALUE_BYTES = 256  # per generated string value (UTF-8)
MAX_TABLE_BYTES = 256 * 1024 * 1024  # per generated table (Arrow buffers); the templates' largest is ~10 MB
_NUMERIC = pa.decimal128(38, 9)  # BigQuery NUMERIC
# Nullable "end of life" dates (churned_date, cancelled_at, ...) are NULL while the thing is
# still active: most rows, or every "active customers" demo question returns nothing.
_END_EVENT = re.compile(r"(cancel|churn|terminat|ended|end_date|closed|expir|deleted|lapsed)")
_ACTIVE_SHARE = 0.7
_BIGNUMERIC = pa.decimal256(76, 38)
# Column names that deserve a Faker provider even when the design did not name one.
_NAME_HINTS = {
    "email": "email", "name": "name", "full_name": "name", "first_name": "first_name",
    "last_name": "last_name", "city": "city", "country": "country_code", "state": "state_abbr",
    "company": "company", "company_name": "company", "phone": "phone_number", "zip_code": "postcode",
    "postcode": "postcode", "address": "street_address", "title": "catch_phrase", "url": "url",
}  # fmt: skip


class SyntheticDataTooLarge(ValueError):
    """A design asks for more synthetic bytes than one table may hold."""


@dataclass(frozen=True)
class TableData:
    table: str
    path: Path
    rows: int
    checksum_column: str | None  # an INT64 primary key: its SUM is reconciled after loading


def scaled_rows(spec: TableSpec, row_scale: float, *, min_rows: int = 20, max_rows: int = 250_000) -> int:
    """The rows to generate for a table: the design's count scaled, within [min_rows, max_rows]."""
    return int(min(max_rows, max(min_rows, round(spec.row_count * row_scale))))


def _seed(request_id: int, *parts: str) -> int:
    return zlib.crc32("/".join((str(request_id), *parts)).encode())


def clip_value(value: str, limit: int = MAX_VALUE_BYTES) -> str:
    """``value`` cut to at most ``limit`` UTF-8 bytes (never in the middle of a character)."""
    encoded = value.encode()
    return value if len(encoded) <= limit else encoded[:limit].decode(errors="ignore")


def _faker_pool(fake: Faker, provider: str, size: int, column: str) -> list[str]:
    # Only providers of the allow-list are ever looked up: the name comes from LLM output.
    if provider not in FAKER_PROVIDERS["STRING"]:
        log.info("faker provider %r for %s is not allowed; using words", provider, column)
        provider = "word"
    if provider == "bothify":
        return [fake.bothify("??-####").upper() for _ in range(size)]
    method = getattr(fake, provider)
    return [clip_value(str(method())) for _ in range(size)]


def _strings(column: ColumnSpec, n: int, rng: np.random.Generator, fake: Faker) -> pa.Array:
    provider = column.faker or _NAME_HINTS.get(column.name.lower())
    if provider:
        pool = _faker_pool(fake, provider, min(n, _POOL_SIZE), column.name)
    else:
        pool = [clip_value(f"{column.name}_{i:04d}") for i in range(1, min(n, 500) + 1)]
    return pa.array(np.asarray(pool, dtype=object)[rng.integers(0, len(pool), n)], pa.string())


def _categorical(values: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    # Skewed (Zipf-like) weights: real categories are never uniform, and demos need a story.
    weights = 1.0 / np.arange(1, len(values) + 1) ** 0.8
    clipped = [clip_value(str(v)) for v in values]
    return np.asarray(clipped, dtype=object)[rng.choice(len(values), size=n, p=weights / weights.sum())]


def _cast_categorical(column: ColumnSpec, values: np.ndarray) -> pa.Array:
    kind = column.type
    if kind == "INT64":
        return pa.array([int(v) for v in values], pa.int64())
    if kind in ("FLOAT64", "NUMERIC", "BIGNUMERIC"):
        floats = pa.array([float(v) for v in values], pa.float64())
        return floats if kind == "FLOAT64" else floats.cast(_NUMERIC if kind == "NUMERIC" else _BIGNUMERIC)
    if kind == "BOOL":
        return pa.array([str(v).lower() in ("true", "1", "yes") for v in values], pa.bool_())
    return pa.array(values, pa.string())


def _column(
    column: ColumnSpec, n: int, rng: np.random.Generator, fake: Faker, anchor: date
) -> pa.Array:
    if column.values:
        return _cast_categorical(column, _categorical(column.values, n, rng))
    low = column.min if column.min is not None else 0.0
    high = column.max if column.max is not None else 1000.0
    kind = column.type
    if kind == "INT64":
        return pa.array(rng.integers(int(low), int(high) + 1, n), pa.int64())
    if kind in ("FLOAT64", "NUMERIC", "BIGNUMERIC"):
        values = pc.round(pa.array(rng.uniform(low, high, n), pa.float64()), 2)
        if kind == "FLOAT64":
            return values
        return values.cast(_NUMERIC if kind == "NUMERIC" else _BIGNUMERIC)
    if kind == "BOOL":
        return pa.array(rng.random(n) < 0.5, pa.bool_())
    start = datetime.combine(anchor - timedelta(days=HISTORY_DAYS), datetime.min.time(), UTC)
    if kind == "DATE":
        days = rng.integers(0, HISTORY_DAYS, n)
        epoch = (anchor - timedelta(days=HISTORY_DAYS) - date(1970, 1, 1)).days
        return pa.array(days + epoch, pa.int32()).cast(pa.date32())
    if kind in ("TIMESTAMP", "DATETIME"):
        micros = int(start.timestamp() * 1_000_000) + rng.integers(0, HISTORY_DAYS * 86_400, n) * 1_000_000
        return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC" if kind == "TIMESTAMP" else None))
    if kind == "TIME":
        return pa.array(rng.integers(0, 86_400, n) * 1_000_000, pa.int64()).cast(pa.time64("us"))
    if kind == "BYTES":
        return pa.array([bytes(rng.integers(0, 256, 8, dtype=np.uint8)) for _ in range(n)], pa.binary())
    if kind == "JSON":
        return pa.array([f'{{"value": {int(v)}}}' for v in rng.integers(0, 100, n)], pa.string())
    return _strings(column, n, rng, fake)


def _key_column(table: TableSpec, column: ColumnSpec, n: int) -> pa.Array:
    """Primary keys: a dense sequence, unique by construction."""
    if column.type == "INT64":
        return pa.array(np.arange(1, n + 1), pa.int64())
    prefix = "".join(ch for ch in table.name.upper() if ch.isalpha())[:3] or "ID"
    return pa.array([f"{prefix}-{i:07d}" for i in range(1, n + 1)], pa.string())


def _estimated_bytes(column: ColumnSpec, n: int) -> int:
    """An upper bound of a categorical column's bytes, known before it is built."""
    if column.values and column.type not in ("INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC", "BOOL"):
        return n * max(len(clip_value(str(v)).encode()) + 4 for v in column.values)
    return 0


def _check_size(table: TableSpec, used: int, limit: int, column: str) -> None:
    if used > limit:
        raise SyntheticDataTooLarge(
            f"synthetic table {table.name} would hold more than {limit:,} bytes (reached at column {column}); "
            "use fewer rows, fewer or shorter string columns"
        )


def generate_table(
    table: TableSpec,
    n: int,
    *,
    request_id: int,
    anchor: date,
    parents: dict[tuple[str, str], pa.Array],
    max_table_bytes: int = MAX_TABLE_BYTES,
) -> pa.Table:
    """One table's rows; ``parents`` maps (table, column) to the key values already generated.

    ``SyntheticDataTooLarge`` as soon as the columns built so far (or the next categorical
    column, estimated before it is built) exceed ``max_table_bytes``."""
    seed = _seed(request_id, table.name)
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    primary = {k.lower() for k in table.primary_key}
    foreign = {fk.column.lower(): fk for fk in table.foreign_keys}
    arrays: dict[str, pa.Array] = {}
    # Single-column keys are sequences; composite keys are made unique by their last column.
    sequence_keys = primary if len(primary) == 1 else {table.primary_key[-1].lower()} if primary else set()
    used = 0
    for column in table.columns:
        if column.name.lower() in sequence_keys and column.name.lower() not in foreign:
            arrays[column.name] = _key_column(table, column, n)
            used += arrays[column.name].nbytes
    for column in table.columns:
        name = column.name.lower()
        if column.name in arrays:
            continue
        _check_size(table, used + _estimated_bytes(column, n), max_table_bytes, column.name)
        fk = foreign.get(name)
        if fk is not None:
            key = (fk.references_table.lower(), fk.references_column.lower())
            pool = parents.get(key)
            if pool is None and key[0] == table.name.lower():
                pool = arrays.get(table.column(fk.references_column).name)
            if pool is None or len(pool) == 0:
                raise ValueError(f"{table.name}.{column.name} references {key[0]}.{key[1]}, which has no rows")
            arrays[column.name] = pool.take(pa.array(rng.integers(0, len(pool), n)))
            used += arrays[column.name].nbytes
            _check_size(table, used, max_table_bytes, column.name)
            continue
        values = _column(column, n, rng, fake, anchor)
        if column.nullable and column.type in ("DATE", "TIMESTAMP", "DATETIME") and _END_EVENT.search(name):
            values = pc.if_else(pa.array(rng.random(n) < _ACTIVE_SHARE), pa.nulls(n, values.type), values)
        arrays[column.name] = values
        used += values.nbytes
        _check_size(table, used, max_table_bytes, column.name)
    return pa.table({c.name: arrays[c.name] for c in table.columns})


def checksum_column(table: TableSpec) -> str | None:
    if len(table.primary_key) == 1 and table.column(table.primary_key[0]).type == "INT64":
        return table.column(table.primary_key[0]).name
    return None


def generate_dataset(
    schema: SchemaDesign,
    folder: Path,
    *,
    request_id: int,
    anchor: date,
    row_scale: float = 1.0,
    max_rows: int = 250_000,
    max_table_bytes: int = MAX_TABLE_BYTES,
) -> dict[str, TableData]:
    """Every table of the design as a Parquet file in ``folder``, parents first."""
    folder.mkdir(parents=True, exist_ok=True)
    parents: dict[tuple[str, str], pa.Array] = {}
    written: dict[str, TableData] = {}
    for table in schema.load_order():
        n = scaled_rows(table, row_scale, max_rows=max_rows)
        data = generate_table(table, n, request_id=request_id, anchor=anchor, parents=parents,
                              max_table_bytes=max_table_bytes)
        if len(table.primary_key) > 1:  # composite keys: drop the rare duplicate combination
            data = _distinct_keys(data, table.primary_key)
        for column in table.columns:
            parents[(table.name.lower(), column.name.lower())] = data.column(column.name).combine_chunks()
        path = folder / f"{table.name}.parquet"
        pq.write_table(data, path, compression="zstd")
        written[table.name] = TableData(table.name, path, data.num_rows, checksum_column(table))
    return written


def _distinct_keys(data: pa.Table, keys: list[str]) -> pa.Table:
    seen: set[tuple[Any, ...]] = set()
    keep = []
    for i, row in enumerate(zip(*(data.column(k).to_pylist() for k in keys), strict=True)):
        if row not in seen:
            seen.add(row)
            keep.append(i)
    return data.take(pa.array(keep)) if len(keep) < data.num_rows else data
