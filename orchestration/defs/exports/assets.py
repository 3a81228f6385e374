"""``exports/<mart>``: each day of the export-shaped marts, loaded into day-partitioned BigQuery tables."""

# No `from __future__ import annotations`: Dagster inspects the context and config annotations at runtime.

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    Backoff,
    Config,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    TableColumn,
    TableSchema,
    asset,
    define_asset_job,
    schedule,
)
from pydantic import Field

from datamove.export_specs import DEFAULT_DATASET, EXPORTS, MART_SCHEMA, ExportSpec
from orchestration.lib.partition_events import report_by_partition
from orchestration.lib.partitions import daily_partitions, previous_day
from orchestration.lib.resources import BigQueryResource, PostgresResource, replica_reads

if TYPE_CHECKING:
    from datamove.export import ExportResult


class ExportConfig(Config):
    dataset: str = Field(default=DEFAULT_DATASET, description="BigQuery dataset of the export tables")
    source_schema: str = Field(default=MART_SCHEMA, description="warehouse schema holding the marts")


def day_metadata(result: "ExportResult") -> dict[str, object]:
    """One exported day: its rows, bytes, checksums on both sides and the BigQuery job that loaded it."""
    return {
        "day": result.day.isoformat(),
        "rows": result.rows,
        "dagster/row_count": result.rows,
        "bytes": result.bytes,
        "checksum_mart": str(result.mart_checksum),
        "checksum_bigquery": str(result.bigquery_checksum),
        # export_day raises on any difference; this records that the comparison was made and held
        "reconciled": MetadataValue.bool(result.mart_checksum == result.bigquery_checksum),
        "load_mode": result.load_mode,
        "load_job_id": result.load_job_id,
        "seconds": round(result.seconds, 3),
    }


def window_summary(results: "list[ExportResult]") -> dict[str, object]:
    """The run as a whole: the table, the totals and the time spent where."""
    first = results[0]
    return {
        "bigquery_table": first.table_id,
        "dagster/table_name": first.table_id,
        "checksum_column": first.checksum_column,
        "rows_total": sum(r.rows for r in results),
        "bytes_total": sum(r.bytes for r in results),
        "seconds_total": round(sum(r.seconds for r in results), 3),
        "mart_read_seconds": round(sum(r.read_seconds for r in results), 3),
        "bigquery_seconds": round(sum(r.bigquery_seconds for r in results), 3),
        "load_modes": ", ".join(sorted({r.load_mode for r in results})),
    }


def build_export_asset(spec: ExportSpec) -> AssetsDefinition:
    @asset(
        key=AssetKey(spec.asset_path),
        group_name="exports",
        description=(f"{spec.description} BigQuery table `{DEFAULT_DATASET}.{spec.name}`, partitioned by day; "
                     f"each day replaced atomically and reconciled (rows, SUM({spec.checksum_column})) "
                     f"with marts.{spec.name}."),
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[AssetKey(spec.mart_path)] + ([AssetKey(spec.enrichment.asset_path)] if spec.enrichment else []),
        kinds={"bigquery"},
        # Quota and backend errors deserve another try; schema and reconciliation failures do not.
        retry_policy=RetryPolicy(max_retries=2, delay=60, backoff=Backoff.EXPONENTIAL),
        metadata={
            "dagster/column_schema": TableSchema(columns=[
                TableColumn(f.name, f.field_type, description=f.description or "") for f in spec.schema]),
            "checksum_column": spec.checksum_column,
            "partition_field": "day",
        },
    )
    def _export(context: AssetExecutionContext, config: ExportConfig, warehouse_db: PostgresResource,
                replica_db: PostgresResource, bigquery: BigQueryResource) -> MaterializeResult:
        from datamove.export import ExportError, export_day  # Arrow and ADBC load in export runs only

        # the replica, once it shows the marts the primary has committed (or the primary on a fail-over)
        reads = replica_reads(warehouse_db, replica_db, context)
        reads.sync()
        client = bigquery.get_client()
        window = context.partition_time_window
        day, results = window.start.date(), []
        while day < window.end.date():
            try:
                results.append(export_day(spec, read_dsn=reads.dsn, client=client, dataset=config.dataset,
                                          day=day, source_schema=config.source_schema, location=bigquery.location))
            except ExportError as error:
                raise Failure(description=str(error), allow_retries=error.transient) from error
            day += timedelta(days=1)
        metadata = report_by_partition(context, {r.day.isoformat(): day_metadata(r) for r in results},
                                       {**window_summary(results), **reads.metadata()})
        # the table is the same for every day: on each day's materialization, not only in the summary
        context.add_asset_metadata({"bigquery_table": results[0].table_id, "dagster/table_name": results[0].table_id})
        return MaterializeResult(metadata=metadata)

    return _export


export_assets = [build_export_asset(spec) for spec in EXPORTS.values()]

exports_daily_job = define_asset_job(
    "exports_daily_job",
    # By key: the dbt export-shaped marts share the "exports" group name.
    selection=AssetSelection.assets(*[AssetKey(spec.asset_path) for spec in EXPORTS.values()]),
    partitions_def=daily_partitions,
    description="Export one day of agent_performance, customer_behavior and revenue_metrics to BigQuery.",
)


def _materialized(context: ScheduleEvaluationContext, spec_path: tuple[str, ...], partition: str) -> bool:
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(spec_path), asset_partitions=[partition]), limit=1)
    return bool(records.records)


@schedule(job=exports_daily_job, cron_schedule="30 3-6 * * *", execution_timezone="UTC",
          name="exports_daily_schedule", default_status=DefaultScheduleStatus.RUNNING)
def exports_daily_schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest | SkipReason]:
    """Yesterday's exports once its marts are built: tried at 03:30 (raw runs at 02:00, the marts after it),
    again hourly until 06:30 if the marts are late; the run key makes it run once."""
    day = previous_day(context.scheduled_execution_time).isoformat()
    waiting = [spec.name for spec in EXPORTS.values() if not _materialized(context, spec.mart_path, day)]
    if waiting:
        yield SkipReason(f"marts {', '.join(waiting)} have no materialization for {day} yet; exports wait for them")
        return
    yield RunRequest(run_key=f"exports-{day}", partition_key=day)
