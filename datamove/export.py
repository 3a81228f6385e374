"""Export one day of a mart to its BigQuery table, reconciled against the mart.

1. In one REPEATABLE READ snapshot of the (replica) warehouse: the day's row count and
   SUM(checksum column), then the rows themselves as Arrow batches (ADBC).
2. Columns are put in the explicit schema's order and representation: NUMERIC (an opaque
   string from ADBC) becomes decimal128(38, 9) after rounding to BigQuery's 9 decimals in
   SQL, FLOAT columns are read as double precision, INTEGER ones as int64. Nothing else is
   converted: a mart column whose type drifted reaches BigQuery as is and the load job,
   holding the explicit schema, refuses it with its own message.
3. Meanwhile, on another thread, the dataset and table are ensured and the rows BigQuery
   holds for the day are counted (``inspect_day``).
   A NaN or ±Infinity in any numeric column of the day fails the export before anything is
   written (``refuse_non_finite``), naming the column and the day.
4. The Parquet file goes through ``datamove.bigquery.replace_day_partition``: a day
   BigQuery does not hold yet is appended by one (atomic) load job; a day it holds is
   replaced through a staging table and one DELETE + INSERT transaction. Either way the
   day is replaced entirely or not at all, and read back.
5. The row count and checksum read back from BigQuery must equal the mart's.
"""

from __future__ import annotations

import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from google.api_core.exceptions import (
    GatewayTimeout,
    GoogleAPICallError,
    InternalServerError,
    ServiceUnavailable,
    TooManyRequests,
)
from google.cloud import bigquery

from datamove.bigquery import (
    BigQueryLoadError,
    DayTarget,
    ensure_dataset,
    ensure_day_partitioned_table,
    inspect_day,
    replace_day_partition,
)
from datamove.export_specs import PARTITION_FIELD, Column, ExportSpec
from datamove.faults import fault_point

log = logging.getLogger(__name__)

BIGQUERY_NUMERIC = pa.decimal128(38, 9)
_ARROW_TYPES: dict[str, pa.DataType] = {
    "NUMERIC": BIGQUERY_NUMERIC,
    "FLOAT": pa.float64(),
    "INTEGER": pa.int64(),
    "STRING": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "BOOLEAN": pa.bool_(),
}
_NUMERIC_PG = ("numeric", "decimal")
# PostgreSQL types that hold NaN (and ±Infinity); BigQuery must never receive one.
_NON_FINITE_PG = ("numeric", "decimal", "real", "double precision")
# BigQuery errors worth another attempt: quota and rate limits, transient backend errors.
_TRANSIENT_TYPES = (TooManyRequests, ServiceUnavailable, InternalServerError, GatewayTimeout)
_TRANSIENT_REASONS = ("quotaExceeded", "rateLimitExceeded", "backendError", "Quota exceeded", "Exceeded rate limits")


class ExportError(RuntimeError):
    """The export of a day failed; BigQuery's table still holds what it held before."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class MartDay:
    rows: int
    checksum: Decimal | None
    parquet_bytes: int


@dataclass(frozen=True)
class ExportResult:
    table_id: str
    day: date
    rows: int
    mart_checksum: Decimal | None
    bigquery_checksum: Decimal | None
    checksum_column: str
    bytes: int
    seconds: float
    load_job_id: str
    read_seconds: float = 0.0  # the mart read and the Parquet
    bigquery_seconds: float = 0.0  # file checks, load, read-back (the look-up overlaps the read)
    load_mode: str = "replace"  # "append" (a new day) or "replace" (a day BigQuery held)


def _transient(error: BaseException) -> bool:
    cause = error.__cause__ or error
    return isinstance(cause, _TRANSIENT_TYPES) or any(r in str(error) for r in _TRANSIENT_REASONS)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_expression(field: Column, pg_type: str) -> str:
    column = _quote(field.name)
    numeric_source = pg_type.startswith(_NUMERIC_PG)
    if field.field_type == "NUMERIC":
        return f"round({column}::numeric, 9) AS {column}"
    if field.field_type == "FLOAT" and (numeric_source or pg_type in ("real", "integer", "bigint", "smallint")):
        return f"{column}::double precision AS {column}"
    if field.field_type == "INTEGER" and (numeric_source or pg_type in ("integer", "smallint")):
        # numeric sums of integers (e.g. SUM(bigint)) are whole numbers; a fraction fails the check below
        return f"{column}::bigint AS {column}"
    return column


def _mart_columns(cursor: Any, relation: str) -> dict[str, str]:
    cursor.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
        parameters=(relation,),
    )
    return {name: pg_type for name, pg_type in cursor.fetchall()}


def _to_schema(batch: pa.RecordBatch, spec: ExportSpec, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field, target in zip(spec.schema, schema, strict=True):
        array = batch.column(field.name)
        if isinstance(array, pa.ExtensionArray):
            array = array.storage
        widening = (pa.types.is_integer(array.type) and pa.types.is_integer(target.type)) or (
            pa.types.is_floating(array.type) and pa.types.is_floating(target.type))
        if array.type != target.type and (field.field_type == "NUMERIC" or widening):
            array = pc.cast(array, target.type)  # safe cast: raises rather than round or wrap
        if not target.nullable and array.null_count:
            raise ExportError(f"{spec.name}.{field.name} is REQUIRED in BigQuery but the mart has "
                              f"{array.null_count} NULL(s)")
        arrays.append(array)
    fields = [pa.field(f.name, a.type, f.nullable) for f, a in zip(schema, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def refuse_non_finite(cursor: Any, spec: ExportSpec, relation: str, columns: dict[str, str], day: date,
                      source: str | None = None) -> None:
    """Fail, naming column and day, when the mart's day holds NaN or ±Infinity: nothing is loaded, so
    BigQuery keeps what it held for the day. (Equality, not a range: PostgreSQL sorts NaN above every
    number, and round(NaN) is NaN, so no other step would stop it.)"""
    checked = [f.name for f in spec.schema if columns[f.name].split("(")[0] in _NON_FINITE_PG]
    if not checked:
        return
    counts = ", ".join(f"count(*) FILTER (WHERE {_quote(c)} IN ('NaN', 'Infinity', '-Infinity'))" for c in checked)
    # the rows as exported: the mart with its enrichment's columns (e.g. the churn probability)
    cursor.execute(f"SELECT {counts} FROM {source or relation} "  # noqa: S608 - catalog-checked names
                   f"WHERE {_quote(PARTITION_FIELD)} = DATE '{day.isoformat()}'")
    found = {c: int(n) for c, n in zip(checked, cursor.fetchone(), strict=True) if n}
    if found:
        raise ExportError(f"{relation} for {day} holds non-finite values (NaN or Infinity) in "
                          + ", ".join(f"column {c} ({n} row(s))" for c, n in found.items())
                          + f"; nothing was loaded, {spec.name} keeps its previous rows for {day}")


def arrow_schema(spec: ExportSpec) -> pa.Schema:
    return pa.schema([pa.field(f.name, _ARROW_TYPES[f.field_type], f.mode != "REQUIRED") for f in spec.schema])


def _enriched_source(cursor: Any, spec: ExportSpec, relation: str, columns: dict[str, str]) -> str:
    """``relation``, or it LEFT JOINed with the spec's enrichment (its columns added to ``columns``)."""
    enrichment = spec.enrichment
    if enrichment is None:
        return relation
    extra = _mart_columns(cursor, enrichment.relation)
    if not extra:  # not created yet (e.g. no model trained): the columns stay NULL
        columns.update({name: "double precision" for name in enrichment.columns})
        nulls = ", ".join(f"NULL::double precision AS {_quote(name)}" for name in enrichment.columns)
        return f"(SELECT mart.*, {nulls} FROM {relation} AS mart) AS enriched"  # noqa: S608 - catalog-checked names
    columns.update({name: extra[name] for name in enrichment.columns})
    picked = ", ".join(f"extra.{_quote(name)}" for name in enrichment.columns)
    on = " AND ".join(f"extra.{_quote(theirs)} = mart.{_quote(ours)}" for ours, theirs in enrichment.on)
    schema, table = enrichment.relation.split(".")
    return (f"(SELECT mart.*, {picked} FROM {relation} AS mart"  # noqa: S608 - catalog-checked names
            f" LEFT JOIN {_quote(schema)}.{_quote(table)} AS extra ON {on}) AS enriched")


def read_mart_day(spec: ExportSpec, read_dsn: str, relation: str, day: date, path: Path) -> MartDay:
    """Write the mart's rows of ``day`` to ``path`` (Parquet); returns the mart's own count and checksum."""
    checksum_field = next(f for f in spec.schema if f.name == spec.checksum_column)
    with adbc.connect(read_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        columns = _mart_columns(cursor, relation)
        if not columns:
            raise ExportError(f"mart {relation} does not exist (build the marts first)")
        source = _enriched_source(cursor, spec, relation, columns)
        missing = [f.name for f in spec.schema if f.name not in columns]
        if missing:
            raise ExportError(f"mart {relation} lacks column(s) {missing} of the BigQuery schema of {spec.name}")
        refuse_non_finite(cursor, spec, relation, columns, day, source)
        expressions = [_select_expression(f, columns[f.name]) for f in spec.schema]
        checksum_sql = _select_expression(checksum_field, columns[spec.checksum_column]).rsplit(" AS ", 1)[0]
        where = f"{_quote(PARTITION_FIELD)} = DATE '{day.isoformat()}'"
        cursor.execute(f"SELECT count(*), sum({checksum_sql})::text FROM {relation} WHERE {where}")  # noqa: S608 - catalog-checked names
        rows, checksum = cursor.fetchone()
        cursor.execute(f"SELECT {', '.join(expressions)} FROM {source} WHERE {where}")  # noqa: S608
        reader = cursor.fetch_record_batch()
        schema = arrow_schema(spec)
        written = 0
        writer: pq.ParquetWriter | None = None
        try:
            for batch in reader:
                typed = _to_schema(batch, spec, schema)
                # A drifted column keeps its own type: BigQuery's load job, holding the schema, judges it.
                writer = writer or pq.ParquetWriter(path, typed.schema, compression="zstd")
                writer.write_batch(typed)
                written += typed.num_rows
            writer = writer or pq.ParquetWriter(path, schema, compression="zstd")
        finally:
            if writer is not None:
                writer.close()
        conn.rollback()
    if written != rows:
        raise ExportError(f"{relation} {day}: read {written} rows, the same snapshot counts {rows}")
    return MartDay(int(rows), None if checksum is None else Decimal(checksum), path.stat().st_size)


def _same(a: Decimal | None, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return Decimal(str(a)) == Decimal(str(b))


def _prepare_target(spec: ExportSpec, client: bigquery.Client, dataset: str, location: str | None, table_id: str,
                    day: date) -> DayTarget:
    ensure_dataset(client, dataset, location)
    schema = spec.bigquery_schema()
    ensure_day_partitioned_table(client, table_id, schema, PARTITION_FIELD, list(spec.clustering), spec.added_columns)
    return inspect_day(client, table_id, day, schema, PARTITION_FIELD)


def export_day(spec: ExportSpec, *, read_dsn: str, client: bigquery.Client, dataset: str, day: date,
               source_schema: str = "marts", location: str | None = None) -> ExportResult:
    """Replace ``day`` of the BigQuery table with the mart's rows, or raise ``ExportError`` leaving it as it was."""
    started = time.perf_counter()
    relation = f"{_quote(source_schema)}.{_quote(spec.name)}"
    table_id = f"{client.project}.{dataset}.{spec.name}"
    schema = spec.bigquery_schema()
    with tempfile.TemporaryDirectory(prefix=f"export-{spec.name}-") as folder, \
            ThreadPoolExecutor(1, thread_name_prefix="bigquery") as bigquery_side:
        path = Path(folder) / f"{spec.name}-{day.isoformat()}.parquet"
        # BigQuery's side (dataset, table, what the day holds) is looked up while the mart is read.
        target = bigquery_side.submit(_prepare_target, spec, client, dataset, location, table_id, day)
        try:
            mart = read_mart_day(spec, read_dsn, relation, day, path)
            read_seconds = time.perf_counter() - started
        finally:
            target_error = target.exception()  # never leave the look-up running behind an error
        fault_point("export.parquet_written")
        try:
            if target_error is not None:
                raise target_error
            fault_point("export.before_load")
            loaded = replace_day_partition(client, table_id, day, path, schema, checksum_column=spec.checksum_column,
                                           partition_field=PARTITION_FIELD, target=target.result())
        except BigQueryLoadError as error:
            raise ExportError(f"BigQuery refused {table_id} for {day}: {error}", transient=_transient(error)) from error
        except GoogleAPICallError as error:
            raise ExportError(f"BigQuery error on {table_id} for {day}: {error.message}",
                              transient=_transient(error)) from error
        fault_point("export.loaded")
    if loaded.rows != mart.rows or not _same(mart.checksum, loaded.checksum):
        raise ExportError(
            f"{table_id} for {day} holds {loaded.rows} rows (sum {spec.checksum_column} {loaded.checksum}) after "
            f"the load, the mart {relation} has {mart.rows} (sum {mart.checksum})")
    result = ExportResult(
        table_id=loaded.table_id, day=day, rows=loaded.rows, mart_checksum=mart.checksum,
        bigquery_checksum=None if loaded.checksum is None else Decimal(str(loaded.checksum)),
        checksum_column=spec.checksum_column, bytes=mart.parquet_bytes, seconds=time.perf_counter() - started,
        load_job_id=loaded.load_job_id, read_seconds=read_seconds, bigquery_seconds=loaded.seconds,
        load_mode=loaded.mode,
    )  # fmt: skip
    log.info("exported %s %s: %d rows, %s=%s in %.2fs", spec.name, day, result.rows, spec.checksum_column,
             result.bigquery_checksum, result.seconds)
    return result
