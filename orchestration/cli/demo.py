"""`make demo`: the whole platform end to end on the embedded defaults, then a summary."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterInstance, Definitions, ExecuteInProcessResult

from foundation.settings import history_window
from orchestration.simulator import SimulationReport
from orchestration.stack.control import stack_up

log = logging.getLogger(__name__)

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class DemoSummary:
    assets: int = 0
    rows: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    checks_warned: int = 0
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add_provisioning(self, results: list[ExecuteInProcessResult], skip_reasons: list[str] | None = None) -> None:
        reason = "; ".join(skip_reasons or []) or "the sensor launched no run"
        if not results and "duplicate of request" in reason:  # a demo re-run within the duplicate window
            self.lines.append(f"  provisioned demo: not built again ({reason[:160]})")
        elif not results:
            self.failures.append(f"provisioning: {reason[:300]}")
        for result in results:
            self.add_run(f"provisioned demo {result.dagster_run.tags.get('dagster/partition', '')}", result)
            if not result.success:
                self.failures.append(f"provisioning (run {result.run_id[:8]})")

    def add_run(self, label: str, result: ExecuteInProcessResult) -> None:
        materializations = result.get_asset_materialization_events()
        rows_by_asset: dict[object, int] = {}
        for event in materializations:
            metadata = event.materialization.metadata
            value = metadata.get("rows") or metadata.get("dagster/row_count")
            if value is not None:  # a range run repeats the same totals for each partition
                rows_by_asset[event.asset_key] = int(value.value)  # type: ignore[arg-type]
        rows = sum(rows_by_asset.values())
        checks = result.get_asset_check_evaluations()
        passed = sum(1 for c in checks if c.passed)
        warned = sum(1 for c in checks if not c.passed and c.severity == AssetCheckSeverity.WARN)
        self.assets += len({e.asset_key for e in materializations})
        self.rows += rows
        self.checks_passed += passed
        self.checks_warned += warned
        self.checks_failed += len(checks) - passed - warned
        # which server answered the reads (writes are always the primary's): foundation/replica.py
        served = sorted({str(m.value) for m in [*(e.materialization.metadata.get("reads_served_by")
                                                  for e in materializations),
                                                *(c.metadata.get("reads_served_by") for c in checks)] if m})
        self.lines.append(f"  {label:<28} {len(materializations):>4} materializations  {rows:>10,} rows  "
                          f"{passed}/{len(checks)} checks passed  (run {result.run_id[:8]})"
                          + (f"  reads: {', '.join(served)}" if served else ""))


def run_job(defs: Definitions, instance: DagsterInstance, job_name: str,
            window: tuple[date, date] | None = None, partition_key: str | None = None) -> ExecuteInProcessResult:
    """Run a job of the code location in-process on the platform's instance (visible in the UI)."""
    tags = {}
    if window is not None:
        tags = {PARTITION_RANGE_START: window[0].isoformat(),
                PARTITION_RANGE_END: (window[1] - timedelta(days=1)).isoformat()}
    job = defs.resolve_job_def(job_name)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    return job.execute_in_process(instance=instance, tags=tags, partition_key=partition_key,
                                  raise_on_error=False, run_config=quiet)


def run_demo(*, scale: str, days: int, seed: int) -> int:
    started = time.perf_counter()
    settings = stack_up()
    assert settings.app_dsn and settings.warehouse_dsn
    from orchestration.simulator import simulate

    window = history_window(days)
    report = simulate(settings.app_dsn, seed=seed, scale=scale, days=days, end_date=window[1])
    write_simulator_report(settings.home, report)
    log.info("simulated %s rows", f"{report.total_rows:,}")

    from orchestration.definitions import defs

    summary = DemoSummary()
    with DagsterInstance.get() as instance:
        for label, job_name, job_window, partition_key in demo_steps(
                unarchived_window(window, settings.warehouse_dsn), today=window[1]):
            result = run_job(defs, instance, job_name, job_window, partition_key)
            summary.add_run(label, result)
            if not result.success:
                summary.failures.append(f"{label} ({job_name}, run {result.run_id[:8]})")
        summary.add_provisioning(*provision_one_demo(instance, defs, settings.app_dsn))
    _print_summary(summary, report.total_rows, window, time.perf_counter() - started, settings.home)
    _print_at_risk(settings.warehouse_dsn)
    return 0 if not summary.failures else 1


def write_simulator_report(home: Path, report: SimulationReport) -> Path:
    """Where the ML assets find the simulator's ceilings (and a person finds what was planted)."""
    path = home / "simulator_report.json"
    path.write_text(json.dumps(asdict(report), indent=2, default=str))
    return path


def archivable_months(window: tuple[date, date], today: date) -> list[str]:
    """Monthly partitions inside the window that have left the hot tier (older than 90 days)."""
    from datamove.archive.policy import tier_for

    months, month = [], window[0].replace(day=1)
    while month < window[1]:
        if tier_for(month, today) != "hot":
            months.append(month.isoformat())
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def unarchived_window(window: tuple[date, date], warehouse_dsn: str) -> tuple[date, date]:
    """The window without the months already moved to Parquet by an earlier demo (raw refuses those)."""
    from datamove.archive import manifest
    from datamove.archive.policy import ARCHIVED_TABLES, next_month
    from foundation.connections import connect

    with connect(warehouse_dsn) as conn:
        archived = [e for table in ARCHIVED_TABLES
                    for e in manifest.archived_months_between(conn, table, window[0], window[1])]
    if not archived:
        return window
    return max(window[0], max(next_month(e.month) for e in archived)), window[1]


def demo_steps(window: tuple[date, date], today: date) -> list[tuple[str, str, tuple[date, date] | None, str | None]]:
    last_day = window[1] - timedelta(days=1)
    steps: list[tuple[str, str, tuple[date, date] | None, str | None]] = [
        (f"daily pipeline {window[0]}..{last_day}", "daily_pipeline_job", window, None),
        # before the exports: customer_behavior carries the churn model's scores
        ("ml models and predictions", "ml_training_job", None, None),
        (f"BigQuery exports {window[0]}..{last_day}", "exports_daily_job", window, None),
    ]
    for month in archivable_months(window, today):
        steps.append((f"archive {month[:7]} to Parquet", "archive_monthly_job", None, month))
    return steps


def provision_one_demo(
    instance: DagsterInstance, defs: Definitions, app_dsn: str
) -> tuple[list[ExecuteInProcessResult], list[str]]:
    """One provisioning request through the sensor path (its runs and the sensor's skip reasons).
    The site is unreachable offline, so the request carries the manual fields the research
    agent falls back to."""
    from agents.provisioning.requests import insert_request
    from foundation.settings import now as platform_now
    from orchestration.cli.sensor_runs import provision_via_sensor

    insert_request(app_dsn, DEMO_CUSTOMER_URL, "make-demo", manual_input=DEMO_CUSTOMER, now=platform_now())
    outcome = provision_via_sensor(instance, defs)
    return outcome.launched, outcome.skip_reasons


DEMO_CUSTOMER_URL = "https://www.northwind-outfitters.example/"
DEMO_CUSTOMER = {
    "business_name": "Northwind Outfitters",
    "domain": "ecommerce",
    "products": ["hiking boots", "rain jackets", "tents"],
    "description": "An online outdoor-gear retailer shipping across Europe.",
}


def _print_at_risk(warehouse_dsn: str, limit: int = 10) -> None:
    """Seed 000's get_churn_risk_customers(threshold=0.7): the at-risk list the ML job wrote."""
    from foundation.connections import connect
    from ml.models.predictions import AT_RISK_THRESHOLD, CHURN_RISK_TABLE
    from ml.models.warehouse import read_frame, relation_exists

    with connect(warehouse_dsn) as conn:
        if not relation_exists(conn, CHURN_RISK_TABLE):
            print("  churn: no at-risk list (the ML job did not write it)")
            return
        rows = read_frame(conn, f"SELECT customer_id, customer_name, company, churn_probability, days_inactive,"  # noqa: S608
                          f" trial_outcome FROM {CHURN_RISK_TABLE} ORDER BY churn_probability DESC LIMIT {limit}")
        total = conn.execute(f"SELECT count(*) FROM {CHURN_RISK_TABLE}").fetchone()[0]  # type: ignore[index]  # noqa: S608
    print(f"  customers at risk of churning within 7 days (churn_probability > {AT_RISK_THRESHOLD}): {total}")
    for row in rows.itertuples(index=False):
        print(f"    {row.customer_id:>6}  {str(row.customer_name)[:24]:<24} {str(row.company)[:28]:<28} "
              f"p={row.churn_probability:.2f}  inactive {row.days_inactive} d  trial {row.trial_outcome:+d}")
    print(f"    (the whole list: table {CHURN_RISK_TABLE})")


def _print_summary(summary: DemoSummary, source_rows: int, window: tuple[date, date], seconds: float,
                   home: Path) -> None:
    print()
    print("Agent platform demo")
    print(f"  window: {window[0]} .. {window[1] - timedelta(days=1)}  simulated source rows: {source_rows:,}")
    for line in summary.lines:
        print(line)
    print(f"  total: {summary.assets} assets materialized, {summary.rows:,} rows, "
          f"{summary.checks_passed} checks passed, {summary.checks_warned} warnings, {summary.checks_failed} failed, "
          f"{seconds:.0f}s")
    for failure in summary.failures:
        print(f"  FAILED: {failure}: open the run in the UI")
    print()
    print("Next: `make ui` and open http://127.0.0.1:3000 (Assets, Runs, Automation for schedules and sensors)")
    print(f"      Data Docs: {home / 'data_docs' / 'index.html'}   archive: {home / 'archive'}")
    print("      `eval \"$(.venv/bin/platform env)\"` exports the settings for psql, dbt and dagster commands;")
    print("      `platform quarantine list`, `platform archive list`, `platform provision URL`.")
