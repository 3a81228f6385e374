"""One asset per source table: ``raw/<table>`` in group ``raw``."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from datamove.archive.guards import refuse_archived_window_in_transaction
from datamove.extract import ExtractResult, LoadPolicy, extract_table
from foundation.catalog import (
    EXTRACTED_AT_COLUMN,
    PARTITION_DATE_COLUMN,
    RAW_SCHEMA,
    REFERENCES,
    SOURCE_TABLES,
    SourceTable,
    Window,
)
from foundation.connections import connect
from orchestration.lib.partition_events import report_by_partition
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource
from quality.daily import LoadedDay, loaded_by_day
from quality.quarantine import quarantine_after_load

# What every raw load runs besides the COPY, in this order, inside the load's transaction
# (which holds the table's lock, as archiving and quarantine release do):
RAW_LOAD_POLICY = LoadPolicy(
    # an archived month is never extracted again (its rows live in Parquet): refused before any write
    before=(refuse_archived_window_in_transaction,),
    # rows breaking a row-level rule move to quarantine.<table>; raw + quarantine = source
    after=(quarantine_after_load,),
)


def partition_window(context: AssetExecutionContext) -> Window:
    """The days of the run: one partition, or a whole range when a backfill runs as a single run."""
    time_window = context.partition_time_window
    return Window(time_window.start.date(), time_window.end.date())


def load_summary(result: ExtractResult) -> dict[str, object]:
    """What the load as a whole did: the run's window, its speed, the reconciliation, the quarantine."""
    summary: dict[str, object] = {
        "rows": result.loaded_rows,
        "source_rows": result.source_rows,
        "bytes_transferred": result.bytes,
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(result.rows_per_second),
        "reconciled": MetadataValue.bool(result.loaded_rows == result.source_rows),
    }
    if result.window is not None:
        summary["window"] = f"[{result.window.start}, {result.window.end})"
    if result.ignored_columns:
        summary["ignored_source_columns"] = ", ".join(result.ignored_columns)
    summary.update({k: v for k, v in result.extra.items() if k != "dagster/row_count"})
    return summary


def day_metadata(day: str, loaded: LoadedDay) -> dict[str, object]:
    """One day's own numbers: what its partition holds in raw and in quarantine."""
    return {
        "day": day,
        "rows": loaded.loaded_rows,
        "dagster/row_count": loaded.raw_rows,
        "quarantined_rows": loaded.quarantined_rows,
        "bytes": loaded.bytes,
    }


def materialization_metadata(result: ExtractResult) -> dict[str, object]:
    """A snapshot's metadata (a whole table, no days)."""
    metadata = {**load_summary(result), "bytes": result.bytes}
    metadata["dagster/row_count"] = result.extra.get("dagster/row_count", result.loaded_rows)
    return metadata


def column_schema(warehouse_dsn: str, table: SourceTable) -> TableSchema:
    """The raw table's columns with their PostgreSQL types (the source's: the load keeps them equal)."""
    from quality.warehouse import columns_of

    with connect(warehouse_dsn) as conn:
        types = columns_of(conn, RAW_SCHEMA, table.name)
    return TableSchema(columns=[TableColumn(name, types.get(name, "unknown")) for name in
                                [*table.columns, PARTITION_DATE_COLUMN, EXTRACTED_AT_COLUMN] if name in types])


def build_raw_asset(table: SourceTable) -> AssetsDefinition:
    partitioned = table.partitioned

    @asset(
        key=["raw", table.name],
        group_name="raw",
        description=(table.description + (f" Daily partitions by `{table.partition_column}` (UTC)."
                                          if partitioned else " Whole-table snapshot.")),
        partitions_def=daily_partitions if partitioned else None,
        deps=[AssetKey(["raw", parent]) for parent in REFERENCES.get(table.name, ())],
        backfill_policy=BackfillPolicy.single_run() if partitioned else None,
        kinds={"postgres"},
        tags={"domain": table.domain},
        metadata={
            "dagster/table_name": f"warehouse.raw.{table.name}",
            "source": f"app.public.{table.name}",
            "partition_column": table.partition_column or "",
        },
    )
    def _raw(context: AssetExecutionContext, app_db: PostgresResource,
             warehouse_db: PostgresResource) -> MaterializeResult:
        window = partition_window(context) if partitioned else None
        result = extract_table(table, app_db.dsn, warehouse_db.dsn, window, policy=RAW_LOAD_POLICY)
        schema = {"dagster/column_schema": column_schema(warehouse_db.dsn, table)}
        if window is None:
            return MaterializeResult(metadata={**materialization_metadata(result), **schema})  # type: ignore[dict-item]
        days = loaded_by_day(warehouse_db.dsn, table.name, window.start, window.end, PARTITION_DATE_COLUMN)
        metadata = report_by_partition(context, {day.isoformat(): day_metadata(day.isoformat(), loaded)
                                                 for day, loaded in days.items()}, load_summary(result))
        return MaterializeResult(metadata={**metadata, **schema})

    return _raw


raw_assets = [build_raw_asset(table) for table in SOURCE_TABLES]

