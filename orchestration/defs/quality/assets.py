"""The ``quality/scorecard`` asset: seed 000's five metrics per table and day, with a trend."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
    define_asset_job,
)

from foundation.catalog import SOURCE_TABLES
from foundation.settings import load_settings
from orchestration.lib.partition_events import report_by_partition
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource, replica_reads
from quality import policy
from quality.scorecard import Score, compute_scorecard, overall, trend


def trend_markdown(rows: list[tuple[date, dict[str, float]]]) -> str:
    header = "| day | " + " | ".join(policy.METRICS) + " |\n|---|" + "---|" * len(policy.METRICS) + "\n"
    targets = "| **target** | " + " | ".join(f"{policy.TARGETS[m]:.3%}" for m in policy.METRICS) + " |\n"
    body = "".join(
        f"| {day} | " + " | ".join(
            (f"{values[m]:.3%}" + ("" if values.get(m, 1.0) >= policy.TARGETS[m] else " ❌")) if m in values else "–"
            for m in policy.METRICS) + " |\n"
        for day, values in rows)
    return header + targets + body


def scores_table(scores: list[Score]) -> MetadataValue:
    by_table: dict[str, dict[str, Score]] = {}
    for score in scores:
        by_table.setdefault(score.table, {})[score.metric] = score
    records = [
        TableRecord({"table": table, "rows": next(iter(metrics.values())).rows,
                     **{m: metrics[m].value for m in policy.METRICS},
                     "below_target": ", ".join(m for m in policy.METRICS if not metrics[m].met)})
        for table, metrics in sorted(by_table.items())
    ]
    schema = TableSchema(columns=[TableColumn("table", "string"), TableColumn("rows", "int"),
                                  *[TableColumn(m, "float") for m in policy.METRICS],
                                  TableColumn("below_target", "string")])
    return MetadataValue.table(records=records, schema=schema)


@asset(
    key=["quality", "scorecard"],
    group_name="quality",
    partitions_def=daily_partitions,
    # a range (a backfill, the daily pipeline over several days) is one run, like raw and the marts
    backfill_policy=BackfillPolicy.single_run(),
    deps=[AssetKey(["raw", t.name]) for t in SOURCE_TABLES],
    kinds={"postgres"},
    description=("Seed 000's data-quality metrics (completeness, accuracy, consistency, timeliness, "
                 "uniqueness) per raw table and day, against their targets; stored in quality.scorecard."),
    metadata={"dagster/table_name": "warehouse.quality.scorecard"},
)
def scorecard(context: AssetExecutionContext, warehouse_db: PostgresResource,
              replica_db: PostgresResource) -> MaterializeResult:
    window = context.partition_time_window
    days = [window.start.date() + timedelta(days=i) for i in range((window.end - window.start).days)]
    # scores are read on the replica once it has replayed the run's raw loads; written on the primary
    reads = replica_reads(warehouse_db, replica_db, context, {"statement_timeout": load_settings().reader_statement_timeout})
    per_day = {}
    for day in days:  # every day of the run's window is scored, stored and reported on its own
        per_day[day] = compute_scorecard(warehouse_db.dsn, day, reads)
        context.log.info("scorecard %s: %s", day, overall(per_day[day]))
    last = days[-1]
    by_day = {day.isoformat(): day_metadata(scores) for day, scores in per_day.items()}
    below_days = [day for day, metadata in by_day.items() if not metadata["targets_met"].value]
    summary = {
        "days_scored": len(days),
        "days_below_target": below_days,
        "scores_total": sum(len(v) for v in per_day.values()),
        "trend": MetadataValue.md(trend_markdown(trend(warehouse_db.dsn, last, reads=reads))),
        **reads.metadata(),
    }
    context.log.info("scorecard %s..%s: %d day(s) below target", days[0], last, len(below_days))
    return MaterializeResult(metadata=report_by_partition(context, by_day, summary))


def day_metadata(scores: list[Score]) -> dict[str, MetadataValue]:
    """One day's scorecard: the five metrics over every table, what missed its target, per table."""
    totals = overall(scores)
    below = sorted({f"{s.table}.{s.metric}" for s in scores if not s.met})
    return {
        **{metric: MetadataValue.float(value) for metric, value in totals.items()},
        "validation_error_rate": MetadataValue.float(round(1 - totals["accuracy"], 6)),
        "targets_met": MetadataValue.bool(not below),
        "below_target": MetadataValue.json(below),
        "scores": scores_table(scores),
        "dagster/row_count": MetadataValue.int(len(scores)),
    }


scorecard_job = define_asset_job("quality_scorecard_job", selection=[scorecard], partitions_def=daily_partitions,
                                 description="Compute the data-quality scorecard of a day.")
