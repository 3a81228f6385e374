"""Loading Parquet into BigQuery: idempotent, atomic and reconciled, on BigQuery and the emulator.

Every load goes the same way:

1. the Parquet's columns are checked against the explicit schema (no autodetect) and put
   in schema order (the emulator inserts Parquet columns by position); for a day, every
   row's partition column must fall on that day (checked in the file, before any job);
2. a day the table does not hold yet (the daily scheduled export) is loaded straight into
   the table with WRITE_APPEND: one load job, which BigQuery (and the emulator, in one
   DuckDB INSERT) applies entirely or not at all; a failed job raises
   ``BigQueryLoadError`` with the job's own message;
3. otherwise (a re-run, a backfill, a whole-table replace) the Parquet is loaded into a
   fresh staging table ``_stage_<table>_<suffix>`` next to the target, the staging rows
   are reconciled with the source (count, checksum, every row on the day), and one
   transaction (``DELETE`` then ``INSERT … SELECT`` from staging) replaces the rows;
   the staging table is dropped;
4. the target is read back (count and checksum of the day, or of the table) and compared
   with the source; a mismatch raises ``ReconciliationError``.

A concurrent writer that fills the day between the look-up and an append makes the
read-back differ: the load then fails, and its re-run takes the replacing path.

Why not the partition decorator (``table$YYYYMMDD`` + WRITE_TRUNCATE): bqemulator 1.4
rejects decorated table ids, and its WRITE_TRUNCATE is a DELETE followed by an INSERT
that is not rolled back when the INSERT fails (a failed load empties the table). The
append and staging + transaction paths behave the same on both backends, so the tests run
the production paths. On BigQuery the DELETE/INSERT are billed as DML (they scan the target); loads themselves are free.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from google.api_core.client_options import ClientOptions
from google.api_core.exceptions import GoogleAPICallError, NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

log = logging.getLogger(__name__)


def make_client(project: str, location: str = "US", api_endpoint: str | None = None) -> bigquery.Client:
    """A ``bigquery.Client`` for production (no endpoint: Google's default credentials chain) or an
    emulator (an endpoint: anonymous credentials). Credentials only come from the environment."""
    if api_endpoint:
        log.debug("BigQuery client for project %s at %s (anonymous)", project, api_endpoint)
        return bigquery.Client(
            project=project,
            location=location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=api_endpoint),
        )
    log.debug("BigQuery client for project %s with default credentials", project)
    return bigquery.Client(project=project, location=location)

ParquetSource = bytes | str | os.PathLike[str]
Number = Decimal | int | float

_PARTITION_TYPES = frozenset({"DATE", "TIMESTAMP", "DATETIME"})
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID_PART = re.compile(r"^[A-Za-z0-9_.:-]+$")
# Legacy and standard spellings of the same types, as the API may return either.
_TYPE_ALIASES = {
    "INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "DECIMAL": "NUMERIC",
    "BIGDECIMAL": "BIGNUMERIC", "STRUCT": "RECORD",
}  # fmt: skip
_STAGING_TTL = timedelta(days=1)  # a crashed run's staging table expires on BigQuery
_MERGE_ATTEMPTS = 3


class BigQueryLoadError(RuntimeError):
    """A load could not be done; the target table was left as it was."""


class SchemaMismatchError(BigQueryLoadError):
    """The data or an existing table does not match the explicit schema."""


class ReconciliationError(BigQueryLoadError):
    """What BigQuery holds after a load differs from the source (count or checksum)."""


@dataclass(frozen=True)
class LoadResult:
    table_id: str
    day: date | None
    rows: int
    checksum: Number | None  # SUM(checksum_column) read back from the target
    checksum_column: str | None
    load_job_id: str
    seconds: float
    mode: str = "replace"  # "append": the day was empty, one load job; "replace": staging + transaction


# -- identifiers -------------------------------------------------------------------


def _table_ref(client: bigquery.Client, table_id: str) -> bigquery.TableReference:
    ref = bigquery.TableReference.from_string(table_id, default_project=client.project)
    for part in (ref.project, ref.dataset_id, ref.table_id):
        if not _ID_PART.match(part):
            raise ValueError(f"invalid BigQuery identifier {part!r} in {table_id!r}")
    return ref


def _sql_table(ref: bigquery.TableReference) -> str:
    return f"`{ref.project}.{ref.dataset_id}.{ref.table_id}`"


def _sql_column(name: str) -> str:
    if not _COLUMN.match(name):
        raise ValueError(f"invalid column name {name!r}")
    return f"`{name}`"


def _field(schema: list[bigquery.SchemaField], name: str) -> bigquery.SchemaField:
    for field in schema:
        if field.name == name:
            return field
    raise SchemaMismatchError(f"column {name!r} is not in the schema {[f.name for f in schema]}")


def _normalized(schema: list[bigquery.SchemaField]) -> list[tuple[Any, ...]]:
    return [
        (
            f.name.lower(),
            _TYPE_ALIASES.get(f.field_type.upper(), f.field_type.upper()),
            (f.mode or "NULLABLE").upper(),
            tuple(_normalized(list(f.fields))),
        )
        for f in schema
    ]


def _check_table_schema(table: bigquery.Table, schema: list[bigquery.SchemaField]) -> None:
    if _normalized(list(table.schema)) != _normalized(schema):
        raise SchemaMismatchError(
            f"table {table.full_table_id or table.table_id} exists with schema "
            f"{_normalized(list(table.schema))}, expected {_normalized(schema)}"
        )


# -- datasets and tables -----------------------------------------------------------


def ensure_dataset(client: bigquery.Client, dataset_id: str, location: str | None = None) -> bigquery.Dataset:
    """Create the dataset if it is missing (idempotent); an existing one must be in ``location``."""
    ref = bigquery.DatasetReference.from_string(dataset_id, default_project=client.project)
    wanted = bigquery.Dataset(ref)
    wanted.location = location or client.location or "US"
    dataset = client.create_dataset(wanted, exists_ok=True)
    if dataset.location and dataset.location.upper() != wanted.location.upper():
        raise ValueError(f"dataset {dataset_id} exists in {dataset.location}, not {wanted.location}")
    return dataset


_SQL_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}


def _add_columns(client: bigquery.Client, table: bigquery.Table, schema: list[bigquery.SchemaField],
                 addable: tuple[str, ...]) -> bigquery.Table:
    """``table`` with the columns of ``addable`` that ``schema`` ends with and it lacks, added in place.

    Only NULLABLE columns at the end, and only when the table has exactly the columns before
    them: BigQuery adds a NULLABLE column to a table as a metadata change (its rows read NULL),
    and appending keeps the column order the loads rely on. Anything else is left to the schema
    check to refuse.
    """
    current = list(table.schema)
    missing = schema[len(current):]
    if not missing or _normalized(current) != _normalized(schema[:len(current)]):
        return table
    if any(f.name not in addable or (f.mode or "NULLABLE").upper() != "NULLABLE" or f.fields for f in missing):
        return table
    table.schema = [*current, *missing]
    updated = client.update_table(table, ["schema"])  # on BigQuery this adds the columns, descriptions included
    # The emulator keeps a table's schema and its storage apart: the patch changes the schema only, the
    # DDL the storage. On BigQuery the DDL finds the columns there and does nothing.
    additions = ", ".join(f"ADD COLUMN IF NOT EXISTS {_sql_column(f.name)} "
                          f"{_SQL_TYPES.get(f.field_type.upper(), f.field_type.upper())}" for f in missing)
    client.query(f"ALTER TABLE {_sql_table(table.reference)} {additions}").result()
    log.info("added NULLABLE column(s) %s to %s", [f.name for f in missing], table.full_table_id or table.table_id)
    return updated


def ensure_day_partitioned_table(
    client: bigquery.Client,
    table_id: str,
    schema: list[bigquery.SchemaField],
    partition_field: str,
    clustering_fields: list[str] | None = None,
    addable: tuple[str, ...] = (),
) -> bigquery.Table:
    """Create the table partitioned by day on ``partition_field`` (idempotent).

    An existing table must have the same schema and partitioning: schema drift is an
    error here rather than a silent change. The one exception: columns named in ``addable``
    (NULLABLE, at the end of ``schema``) that a table created before them lacks are added in
    place.
    """
    field = _field(schema, partition_field)
    if field.field_type.upper() not in _PARTITION_TYPES:
        raise SchemaMismatchError(
            f"partition column {partition_field} is {field.field_type}, not DATE/TIMESTAMP"
        )
    table = bigquery.Table(_table_ref(client, table_id), schema=schema)
    table.time_partitioning = bigquery.TimePartitioning(
        type_=bigquery.TimePartitioningType.DAY, field=partition_field
    )
    if clustering_fields:
        table.clustering_fields = clustering_fields
    existing = _add_columns(client, client.create_table(table, exists_ok=True), schema, addable)
    _check_table_schema(existing, schema)
    partitioning = existing.time_partitioning
    if partitioning is None or partitioning.field != partition_field:
        raise SchemaMismatchError(
            f"table {table_id} exists but is not partitioned by day on {partition_field}"
        )
    return existing


# -- source Parquet ----------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    payload: bytes | Path  # what is uploaded, columns in schema order
    rows: int
    checksum: Number | None
    off_day: int | None = None  # rows not on the day being loaded; None: not checked here


def _parquet_input(payload: bytes | Path) -> Any:
    return pa.BufferReader(payload) if isinstance(payload, bytes) else payload


def _off_day(column: pa.ChunkedArray, day: date) -> int | None:
    """Rows of a DATE/TIMESTAMP column that are NULL or not on ``day`` (UTC); None for other types."""
    if pa.types.is_date(column.type):
        start: Any = pa.scalar(day, column.type)
        end: Any = pa.scalar(day + timedelta(days=1), column.type)
    elif pa.types.is_timestamp(column.type):
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        naive = column.type.tz is None  # BigQuery reads a naive Parquet timestamp as UTC
        start, end = (pa.scalar(t.replace(tzinfo=None) if naive else t, column.type)
                      for t in (midnight, midnight + timedelta(days=1)))
    else:
        return None  # e.g. a STRING where the schema says DATE: the load job refuses it with its message
    on_day = pc.and_(pc.greater_equal(column, start), pc.less(column, end))
    return len(column) - int(pc.sum(pc.fill_null(on_day, False).cast(pa.int64())).as_py() or 0)


def _read_source(
    parquet: ParquetSource,
    schema: list[bigquery.SchemaField],
    checksum_column: str | None,
    day: date | None = None,
    partition_field: str | None = None,
) -> _Source:
    """Check the Parquet against the schema; count rows, sum the checksum column, check the day.

    Only the footer and the checksum and partition columns are read, unless the columns
    are out of schema order: then the file is rewritten in order (the emulator inserts
    Parquet columns by position).
    """
    payload: bytes | Path = bytes(parquet) if isinstance(parquet, bytes | bytearray | memoryview) else Path(parquet)
    expected = [f.name for f in schema]
    try:
        file = pq.ParquetFile(_parquet_input(payload))
    except (pa.ArrowException, OSError) as exc:  # truncated or corrupt: never uploaded
        raise BigQueryLoadError(f"unreadable Parquet ({exc}); nothing was loaded") from exc
    names = file.schema_arrow.names
    if names != expected:
        missing = [c for c in expected if c not in names]
        unexpected = [c for c in names if c not in expected]
        if missing or unexpected:
            raise SchemaMismatchError(
                f"Parquet columns do not match the schema: missing {missing}, unexpected {unexpected}"
            )
        buffer = io.BytesIO()
        pq.write_table(file.read().select(expected), buffer, compression="zstd")
        payload = buffer.getvalue()
        file = pq.ParquetFile(_parquet_input(payload))
    if checksum_column is not None:
        _field(schema, checksum_column)
    wanted = list(dict.fromkeys(c for c in (checksum_column, partition_field if day else None) if c))
    table = file.read(columns=wanted)
    rows = file.metadata.num_rows
    checksum: Number | None = None
    if checksum_column is not None:
        column = table.column(checksum_column)
        if not (
            pa.types.is_integer(column.type)
            or pa.types.is_floating(column.type)
            or pa.types.is_decimal(column.type)
        ):
            raise SchemaMismatchError(f"checksum column {checksum_column} is {column.type}, not numeric")
        checksum = pc.sum(column).as_py()
    off_day = _off_day(table.column(partition_field), day) if day and partition_field else None
    if off_day:
        raise BigQueryLoadError(f"{off_day} of {rows} rows are not on {day} ({partition_field}); nothing was loaded")
    return _Source(payload=payload, rows=rows, checksum=checksum, off_day=off_day)


def _same_number(a: Number | None, b: Number | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    return Decimal(str(a)) == Decimal(str(b))


# -- jobs --------------------------------------------------------------------------


def _job_error(job: bigquery.job._AsyncJob | None, exc: GoogleAPICallError) -> str:
    messages = [e.get("message", "") for e in (job.errors or [])] if job is not None else []
    return "; ".join(m for m in messages if m) or exc.message


def _load(
    client: bigquery.Client,
    source: _Source,
    destination: bigquery.TableReference,
    schema: list[bigquery.SchemaField],
    write_disposition: str = bigquery.WriteDisposition.WRITE_TRUNCATE,
) -> bigquery.LoadJob:
    """One load job: all of the Parquet's rows land in ``destination`` or none do."""
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        schema=schema,
        write_disposition=write_disposition,
        create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
    )
    job: bigquery.LoadJob | None = None
    try:
        if isinstance(source.payload, Path):
            with source.payload.open("rb") as handle:
                job = client.load_table_from_file(handle, destination, job_config=config)
        else:
            job = client.load_table_from_file(io.BytesIO(source.payload), destination, job_config=config)
        job.result()
    except GoogleAPICallError as exc:
        job_id = job.job_id if job is not None else "(not created)"
        raise BigQueryLoadError(f"load job {job_id} failed: {_job_error(job, exc)}") from exc
    return job


def _query_one(client: bigquery.Client, sql: str) -> bigquery.Row:
    rows = list(client.query(sql).result())
    return rows[0]


def _merge(client: bigquery.Client, sql: str) -> None:
    """Run the replacing DML; BigQuery may refuse concurrent DML on one table, so retry that case."""
    for attempt in range(1, _MERGE_ATTEMPTS + 1):
        try:
            client.query(sql).result()
            return
        except GoogleAPICallError as exc:
            if "serialize access" not in exc.message or attempt == _MERGE_ATTEMPTS:
                raise BigQueryLoadError(f"replacing the rows failed: {exc.message}") from exc
            log.warning("replacing DML conflicted with concurrent DML (attempt %s); retrying", attempt)
            time.sleep(2.0 * attempt)


def _day_predicate(column: str, field_type: str, day: date) -> str:
    """SQL that is TRUE exactly for rows of ``day`` (UTC for TIMESTAMP, as BigQuery partitions)."""
    following = day + timedelta(days=1)
    kind = field_type.upper()
    if kind == "DATE":
        return f"{column} = DATE '{day.isoformat()}'"
    if kind in ("TIMESTAMP", "DATETIME"):
        return f"{column} >= {kind} '{day.isoformat()}' AND {column} < {kind} '{following.isoformat()}'"
    raise SchemaMismatchError(f"cannot partition by day on a {field_type} column")


def _replace(
    client: bigquery.Client,
    target: bigquery.Table,
    source: _Source,
    schema: list[bigquery.SchemaField],
    checksum_column: str | None,
    day: date | None,
    partition_field: str | None,
) -> tuple[int, Number | None, str]:
    """Stage, reconcile, replace in one transaction and read back; returns (rows, checksum, load job id)."""
    ref = target.reference
    label = day.strftime("%Y%m%d") if day else "full"
    staging_ref = bigquery.TableReference(
        bigquery.DatasetReference(ref.project, ref.dataset_id),
        f"_stage_{ref.table_id}_{label}_{uuid.uuid4().hex[:8]}",
    )
    where = ""  # the rows being replaced: that day, or (empty) the whole table
    if day is not None and partition_field is not None:
        kind = _field(schema, partition_field).field_type
        where = _day_predicate(_sql_column(partition_field), kind, day)
    checksum_sql = f"SUM({_sql_column(checksum_column)})" if checksum_column else "CAST(NULL AS INT64)"
    staging = bigquery.Table(staging_ref, schema=schema)
    staging.expires = datetime.now(UTC) + _STAGING_TTL
    client.create_table(staging)
    try:
        job = _load(client, source, staging_ref, schema)
        outside = f"COUNTIF(NOT COALESCE({where}, FALSE))" if where else "0"
        staged = _query_one(
            client,
            f"SELECT COUNT(*) AS row_count, {outside} AS outside, {checksum_sql} AS checksum "  # noqa: S608 - identifiers validated
            f"FROM {_sql_table(staging_ref)}",
        )
        if staged["row_count"] != source.rows or not _same_number(staged["checksum"], source.checksum):
            raise ReconciliationError(
                f"staging for {ref.table_id} holds {staged['row_count']} rows (checksum {staged['checksum']}), "
                f"the Parquet has {source.rows} (checksum {source.checksum}); {ref.table_id} left unchanged"
            )
        if staged["outside"]:
            raise BigQueryLoadError(
                f"{staged['outside']} of {source.rows} rows are not on {day} ({partition_field}); "
                f"{ref.table_id} left unchanged"
            )
        columns = ", ".join(_sql_column(f.name) for f in schema)
        # One multi-statement transaction: the day (or table) is replaced entirely or not at all.
        # (A MERGE … ON FALSE does the same in one statement but costs the emulator
        # O(existing × loaded) rows; DELETE + INSERT is linear on both backends.)
        target_sql, staged_table = _sql_table(ref), _sql_table(staging_ref)
        script = (
            f"BEGIN TRANSACTION; DELETE FROM {target_sql} WHERE {where or 'TRUE'}; "  # noqa: S608 - quoted identifiers
            f"INSERT INTO {target_sql} ({columns}) SELECT {columns} FROM {staged_table}; COMMIT TRANSACTION;"
        )
        _merge(client, script)
    finally:
        try:
            client.delete_table(staging_ref, not_found_ok=True)
        except GoogleAPICallError as exc:  # never hide the load's own outcome
            log.warning("could not drop staging table %s: %s", staging_ref.table_id, exc.message)
    rows, checksum = _read_back(client, ref, source, checksum_column, where, day)
    return rows, checksum, job.job_id


def _read_back(
    client: bigquery.Client,
    ref: bigquery.TableReference,
    source: _Source,
    checksum_column: str | None,
    where: str,
    day: date | None,
) -> tuple[int, Number | None]:
    """Count and checksum of what the target holds now (that day, or all); must equal the source."""
    checksum_sql = f"SUM({_sql_column(checksum_column)})" if checksum_column else "CAST(NULL AS INT64)"
    loaded = _query_one(
        client,
        f"SELECT COUNT(*) AS row_count, {checksum_sql} AS checksum FROM {_sql_table(ref)}"  # noqa: S608
        + (f" WHERE {where}" if where else ""),
    )
    if loaded["row_count"] != source.rows or not _same_number(loaded["checksum"], source.checksum):
        raise ReconciliationError(
            f"{ref.table_id}{' for ' + str(day) if day else ''} holds {loaded['row_count']} rows "
            f"(checksum {loaded['checksum']}) after the load, the Parquet has {source.rows} (checksum {source.checksum})"
            + ("; a re-run replaces the day" if day else "")
        )
    return loaded["row_count"], loaded["checksum"]


@dataclass(frozen=True)
class DayTarget:
    """A day-partitioned table as found before a load, and how many rows ``day`` held then."""

    table: bigquery.Table
    partition_field: str
    partition_type: str
    day: date
    rows_on_day: int


def inspect_day(
    client: bigquery.Client,
    table_id: str,
    day: date,
    schema: list[bigquery.SchemaField],
    partition_field: str | None = None,
) -> DayTarget:
    """Look the table up (its schema must be ``schema``) and count the rows ``day`` holds.

    Cheap and read-only: callers run it while they prepare the Parquet.
    """
    ref = _table_ref(client, table_id)
    try:
        table = client.get_table(ref)
    except NotFound as exc:
        raise BigQueryLoadError(
            f"table {table_id} does not exist; create it with ensure_day_partitioned_table"
        ) from exc
    _check_table_schema(table, schema)
    partition_field = partition_field or (table.time_partitioning.field if table.time_partitioning else None)
    if not partition_field:
        raise SchemaMismatchError(f"table {table_id} is not partitioned on a column; pass partition_field")
    kind = _field(schema, partition_field).field_type
    where = _day_predicate(_sql_column(partition_field), kind, day)
    held = _query_one(client, f"SELECT COUNT(*) AS row_count FROM {_sql_table(ref)} WHERE {where}")  # noqa: S608
    return DayTarget(table, partition_field, kind, day, int(held["row_count"]))


def replace_day_partition(
    client: bigquery.Client,
    table_id: str,
    day: date,
    parquet: ParquetSource,
    schema: list[bigquery.SchemaField],
    checksum_column: str | None = None,
    partition_field: str | None = None,
    target: DayTarget | None = None,
) -> LoadResult:
    """Make ``day`` of a day-partitioned table hold exactly the Parquet's rows (idempotent).

    ``partition_field`` defaults to the table's partitioning column. Every row must fall
    on ``day``. Returns the row count and ``SUM(checksum_column)`` read back for that day.

    A day the table does not hold yet (the daily run) is loaded straight into the table:
    one load job, atomic on its own. A day it holds (a re-run, a backfill) goes through
    a staging table and one DELETE + INSERT transaction. ``target`` is ``inspect_day``'s
    answer when the caller already has it.
    """
    started = time.perf_counter()
    if target is None or target.day != day or target.table.reference != _table_ref(client, table_id):
        target = inspect_day(client, table_id, day, schema, partition_field)
    elif partition_field and partition_field != target.partition_field:
        raise SchemaMismatchError(f"{table_id} was inspected for {target.partition_field}, not {partition_field}")
    source = _read_source(parquet, schema, checksum_column, day, target.partition_field)
    ref = target.table.reference
    mode = "append" if target.rows_on_day == 0 and source.off_day == 0 else "replace"
    if mode == "append":
        job = _load(client, source, ref, schema, bigquery.WriteDisposition.WRITE_APPEND)
        where = _day_predicate(_sql_column(target.partition_field), target.partition_type, day)
        rows, checksum = _read_back(client, ref, source, checksum_column, where, day)
        job_id = job.job_id
    else:
        rows, checksum, job_id = _replace(
            client, target.table, source, schema, checksum_column, day, target.partition_field
        )
    result = LoadResult(
        table_id=f"{ref.project}.{ref.dataset_id}.{ref.table_id}",
        day=day,
        rows=rows,
        checksum=checksum,
        checksum_column=checksum_column,
        load_job_id=job_id,
        seconds=time.perf_counter() - started,
        mode=mode,
    )
    log.info("Loaded %s for %s (%s): %s rows in %.2fs", result.table_id, day, mode, rows, result.seconds)
    return result


def load_table(
    client: bigquery.Client,
    table_id: str,
    parquet: ParquetSource,
    schema: list[bigquery.SchemaField],
    checksum_column: str | None = None,
) -> int:
    """Replace every row of the table with the Parquet's (WRITE_TRUNCATE semantics, atomic).

    Creates the table (unpartitioned) if it is missing; returns the row count read back.
    """
    ref = _table_ref(client, table_id)
    try:
        target = client.get_table(ref)
        _check_table_schema(target, schema)
    except NotFound:
        target = client.create_table(bigquery.Table(ref, schema=schema), exists_ok=True)
    source = _read_source(parquet, schema, checksum_column)
    rows, _, _ = _replace(client, target, source, schema, checksum_column, None, None)
    log.info("Loaded %s: %s rows", table_id, rows)
    return rows
