"""``alerts/budget_alerts``: one alert per user, month and threshold (80 %, 100 % of the monthly
budget), the first time a user's month-to-date spend crosses it; shown on the asset and in its check."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

from collections.abc import Iterator
from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from foundation.settings import now as platform_now
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource
from quality.alerts import BUDGET_ALERTS_TABLE, THRESHOLDS, BudgetAlert, open_alerts, raise_budget_alerts

BUDGET_ALERTS_KEY = AssetKey(["alerts", "budget_alerts"])
_SCHEMA = TableSchema(columns=[
    TableColumn("user_id", "int"), TableColumn("threshold", "float"), TableColumn("crossed_on", "date"),
    TableColumn("mtd_spend_usd", "float"), TableColumn("monthly_budget_usd", "float")])


def _table(alerts: list[BudgetAlert]) -> MetadataValue:
    return MetadataValue.table(schema=_SCHEMA, records=[TableRecord({
        "user_id": a.user_id, "threshold": a.threshold, "crossed_on": a.crossed_on.isoformat(),
        "mtd_spend_usd": round(a.mtd_spend_usd, 4), "monthly_budget_usd": round(a.monthly_budget_usd, 4)})
        for a in alerts[:50]])


@asset(
    key=BUDGET_ALERTS_KEY,
    group_name="alerts",
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[AssetKey(["marts", "user_budget_status"])],
    kinds={"postgres"},
    description=(f"Budget alerts (seed 002): a row in `{BUDGET_ALERTS_TABLE}` the first time a user's month-to-date "
                 f"LLM spend crosses {', '.join(f'{t:.0%}' for t in THRESHOLDS)} of the monthly budget; never twice "
                 "for a user, month and threshold, however often the day is refreshed."),
    metadata={"dagster/table_name": f"warehouse.{BUDGET_ALERTS_TABLE}"},
    check_specs=[AssetCheckSpec("no_user_over_budget", asset=BUDGET_ALERTS_KEY,
                                description="No user of the run's month has spent their whole budget (warning)")],
)
def budget_alerts(context: AssetExecutionContext, warehouse_db: PostgresResource) -> Iterator[object]:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    with warehouse_db.connect() as conn:
        raised = raise_budget_alerts(conn, start, end, platform_now())
        month = (end - timedelta(days=1)).replace(day=1)  # the month of the window's last day
        month_alerts = open_alerts(conn, month)
    for alert in raised:
        context.log.warning("budget alert: user %s crossed %.0f%% of %.2f USD on %s", alert.user_id,
                            alert.threshold * 100, alert.monthly_budget_usd, alert.crossed_on)
    over = [a for a in month_alerts if a.threshold >= 1.0]
    yield MaterializeResult(metadata={
        "new_alerts": len(raised),
        "new_alert_rows": _table(raised),
        "month": month.isoformat(),
        "alerts_this_month": len(month_alerts),
        "users_over_budget": len(over),
    })
    yield AssetCheckResult(
        check_name="no_user_over_budget", passed=not over, severity=AssetCheckSeverity.WARN,
        metadata={"users_over_budget": len(over), "month": month.isoformat(), "over_budget": _table(over)})
