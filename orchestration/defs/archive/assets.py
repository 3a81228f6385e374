"""``archive/<table>``: monthly partitions of raw tables moved to the Parquet archive, and their schedule."""

# No `from __future__ import annotations`: Dagster inspects the context and config annotations at runtime.

import os
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    AssetSelection,
    Config,
    ConfigurableResource,
    DefaultScheduleStatus,
    EnvVar,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    schedule,
)
from pydantic import Field

from datamove.archive.policy import (
    ARCHIVED_TABLES,
    ArchivedTable,
    month_label,
    newest_month_in_tier,
    parse_month,
)
from foundation.retention import policy_for_archived_table
from foundation.settings import load_settings
from foundation.settings import today as platform_today

if TYPE_CHECKING:
    from datamove.archive.archiver import ArchiveOutcome
from orchestration.lib.partitions import monthly_partitions
from orchestration.lib.resources import PostgresResource


class ArchiveStorage(ConfigurableResource):
    """Root of the Parquet archive: a local folder or ``gs://bucket/prefix`` (fsspec)."""

    url: str


def archive_storage_resource() -> ArchiveStorage:
    """``ARCHIVE_URL`` when set (resolved at run time), else the default folder under PLATFORM_HOME."""
    if os.environ.get("ARCHIVE_URL"):
        return ArchiveStorage(url=EnvVar("ARCHIVE_URL"))
    return ArchiveStorage(url=load_settings().archive_url)


class ArchiveRunConfig(Config):
    today: str | None = Field(
        default=None,
        description="Judge the hot/warm/cold tiers as if today were this UTC date (YYYY-MM-DD); default: today.")


def _metadata(outcome: "ArchiveOutcome") -> dict[str, object]:
    metadata: dict[str, object] = {
        "action": outcome.action,
        "tier": outcome.tier or "",
        "rows": outcome.totals.rows,
        "dagster/row_count": outcome.totals.rows,
        "checksum_column": ARCHIVED_TABLES[outcome.table].checksum_column,
        "checksum": str(outcome.totals.checksum),
        "id_sum": str(outcome.totals.id_sum),
        "bytes": outcome.bytes,
        "seconds": round(outcome.seconds, 3),
        "files": MetadataValue.json(outcome.files),
    }
    if outcome.action == "archived":
        metadata["rows_per_second"] = round(outcome.rows_per_second)
    if outcome.manifest_url:
        metadata["manifest"] = MetadataValue.path(outcome.manifest_url)
    return metadata


def build_archive_asset(spec: ArchivedTable) -> AssetsDefinition:
    @asset(
        key=["archive", spec.name],
        group_name="archive",
        description=(
            f"Months of raw.{spec.name} older than {spec.hot_days} days, moved to Parquet (warm, zstd) and after "
            f"{spec.cold_days // 365} years to the cold tier (zstd 19). A month leaves PostgreSQL in the transaction "
            "that records it in archive.manifest, after its file was verified and published."),
        partitions_def=monthly_partitions,
        deps=[AssetKey(["raw", spec.name])],
        kinds={"parquet", "postgres"},
        output_required=False,  # a month still in the hot window is skipped, not materialized
        metadata={"source": f"warehouse.raw.{spec.name}", "checksum_column": spec.checksum_column,
                  "hot_days": spec.hot_days, "cold_days": spec.cold_days,
                  **policy_for_archived_table(spec.name).as_metadata()},
    )
    def _archive(context: AssetExecutionContext, config: ArchiveRunConfig, warehouse_db: PostgresResource,
                 archive_storage: ArchiveStorage) -> Iterator[object]:
        # Arrow, ADBC and fsspec load in the archive run, not with the code location
        from datamove.archive.archiver import ArchiveError, ArchiveOutcome, HotMonthError, archive_month

        month = parse_month(context.partition_key)
        today = date.fromisoformat(config.today) if config.today else None
        try:
            outcome = archive_month(spec.name, month, warehouse_dsn=warehouse_db.dsn,
                                    archive_url=archive_storage.url, today=today)
        except HotMonthError as hot:
            outcome = ArchiveOutcome(spec.name, month, "skipped", reason=str(hot))
        except ArchiveError as error:
            raise Failure(description=str(error), allow_retries=False) from error
        if outcome.action == "skipped":
            context.log.info("archive/%s %s skipped: %s", spec.name, month_label(month), outcome.reason)
            yield AssetObservation(asset_key=context.asset_key, partition=context.partition_key,
                                   metadata={"skipped": outcome.reason or ""})
            return
        yield MaterializeResult(metadata=_metadata(outcome))  # type: ignore[arg-type]

    return _archive


archive_assets = [build_archive_asset(spec) for spec in ARCHIVED_TABLES.values()]

archive_monthly_job = define_asset_job(
    "archive_monthly_job",
    selection=AssetSelection.assets(*[["archive", name] for name in ARCHIVED_TABLES]),
    partitions_def=monthly_partitions,
    description=f"Archive one month of {', '.join(ARCHIVED_TABLES)} (or move it to the cold tier), as the "
                "retention policy says (foundation/retention.py).",
    # dagster.yaml runs one archive at a time: the warm and cold months the 1st asks for queue
    tags={"platform/archive": "monthly"},
)


@schedule(job=archive_monthly_job, cron_schedule="0 4 1 * *", execution_timezone="UTC",
          name="archive_monthly_schedule", default_status=DefaultScheduleStatus.RUNNING)
def archive_monthly_schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest | SkipReason]:
    """On the 1st at 04:00 UTC: the months that just left a hot window (tables keep rows hot for 90 or 180 days,
    ``foundation/retention.py``), and the one that just turned cold; a table whose month is still hot skips it."""
    today = platform_today(context.scheduled_execution_time)
    first = parse_month(monthly_partitions.start.date())
    requested = False
    windows = sorted({(spec.hot_days, spec.cold_days) for spec in ARCHIVED_TABLES.values()})
    seen: set[date] = set()
    for tier in ("warm", "cold"):
        for hot_days, cold_days in windows:
            month = newest_month_in_tier(tier, today, hot_days, cold_days)
            if month < first or month in seen:
                continue
            seen.add(month)
            requested = True
            window = f"{hot_days if tier == 'warm' else cold_days}d"  # which retention window asked for it
            yield RunRequest(run_key=f"archive-{tier}-{month_label(month)}", partition_key=month.isoformat(),
                             tags={"archive/tier": tier, "archive/window": window})
    if not requested:
        shortest = min(hot for hot, _ in windows)
        yield SkipReason(f"no month before {today} is older than {shortest} days and on or after the first "
                         f"partition {first}")
