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
from foundation.catalog import REFERENCES, SOURCE_TABLES, SourceTable, Window
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource
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


def materialization_metadata(result: ExtractResult) -> dict[str, object]:
    metadata: dict[str, object] = {
        "rows": result.loaded_rows,
        "source_rows": result.source_rows,
        "bytes": result.bytes,
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(result.rows_per_second),
        "reconciled": MetadataValue.bool(result.loaded_rows == result.source_rows),
    }
    # A single-run backfill reports once for the whole range: the row count of one
    # partition is only known when the run is one partition (or a snapshot).
    if result.window is None or (result.window.end - result.window.start).days == 1:
        metadata["dagster/row_count"] = result.loaded_rows
    if result.window is not None:
        metadata["window"] = f"[{result.window.start}, {result.window.end})"
    if result.ignored_columns:
        metadata["ignored_source_columns"] = ", ".join(result.ignored_columns)
    metadata.update(result.extra)
    return metadata


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
            "dagster/column_schema": TableSchema(columns=[TableColumn(c) for c in table.columns]),
            "partition_column": table.partition_column or "",
        },
    )
    def _raw(context: AssetExecutionContext, app_db: PostgresResource,
             warehouse_db: PostgresResource) -> MaterializeResult:
        window = partition_window(context) if partitioned else None
        result = extract_table(table, app_db.dsn, warehouse_db.dsn, window, policy=RAW_LOAD_POLICY)
        return MaterializeResult(metadata=materialization_metadata(result))  # type: ignore[arg-type]

    return _raw


raw_assets = [build_raw_asset(table) for table in SOURCE_TABLES]

