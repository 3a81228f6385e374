"""`make demo`: the whole platform end to end on the embedded defaults, then a summary."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetMaterialization,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
)

from foundation.settings import history_window, load_settings
from orchestration.simulator import SimulationReport
from orchestration.stack.control import stack_up

log = logging.getLogger(__name__)

PROVISIONING_SENSOR = "provisioning_requests_sensor"
CLEANUP_SENSOR = "failed_provisioning_cleanup_sensor"
RUN_TIMEOUT_SECONDS = 4 * 3600.0


@dataclass
class RunOutcome:
    """What a finished run did, read back from the instance's event log (as the UI reads it)."""

    run_id: str
    success: bool
    materializations: list[AssetMaterialization] = field(default_factory=list)
    checks: list[AssetCheckEvaluation] = field(default_factory=list)


def run_outcome(instance: DagsterInstance, run: DagsterRun) -> RunOutcome:
    records = instance.get_records_for_run(
        run.run_id, of_type={DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}).records
    outcome = RunOutcome(run.run_id, run.status == DagsterRunStatus.SUCCESS)
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            outcome.materializations.append(event.step_materialization_data.materialization)
        else:
            outcome.checks.append(event.event_specific_data)  # type: ignore[arg-type]
    return outcome


@dataclass
class DemoSummary:
    assets: int = 0
    rows: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    checks_warned: int = 0
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add_run(self, label: str, result: RunOutcome, expect_failure: bool = False) -> None:
        materializations = result.materializations
        rows_by_partition: dict[tuple[object, str | None], int] = {}
        for event in materializations:  # each day carries its own rows
            value = event.metadata.get("dagster/row_count") or event.metadata.get("rows")
            if value is not None:
                rows_by_partition[(event.asset_key, event.partition)] = int(value.value)  # type: ignore[arg-type]
        rows = sum(rows_by_partition.values())
        checks = result.checks
        passed = sum(1 for c in checks if c.passed)
        warned = sum(1 for c in checks if not c.passed and c.severity == AssetCheckSeverity.WARN)
        self.assets += len({e.asset_key for e in materializations})
        self.rows += rows
        self.checks_passed += passed
        self.checks_warned += warned
        self.checks_failed += len(checks) - passed - warned
        # which server answered the reads (writes are always the primary's): foundation/replica.py
        served = sorted({str(m.value) for m in [*(e.metadata.get("reads_served_by") for e in materializations),
                                                *(c.metadata.get("reads_served_by") for c in checks)] if m})
        self.lines.append(f"  {label:<28} {len(materializations):>5} materializations  {rows:>10,} rows  "
                          f"{passed:,}/{len(checks):,} checks passed  (run {result.run_id[:8]})"
                          + (f"  reads: {', '.join(served)}" if served else ""))
        if expect_failure:
            self.lines[-1] += "  failed, as planned" if not result.success else ""
            if result.success:
                self.failures.append(f"{label} (run {result.run_id[:8]}) succeeded but was meant to fail")
        elif not result.success:
            self.failures.append(f"{label} (run {result.run_id[:8]})")


DEMO_PARTS = ("ml", "exports", "archive", "provisioning", "housekeeping")


def run_demo(*, scale: str, days: int, seed: int, skip: frozenset[str] = frozenset(),
             defect_rate: float | None = None) -> int:
    """``skip``: parts of DEMO_PARTS left out (the daily pipeline always runs), e.g. for a quick look."""
    started = time.perf_counter()
    settings = stack_up()
    assert settings.app_dsn and settings.warehouse_dsn
    from orchestration.simulator import simulate

    window = history_window(days)
    if window[0] < date.fromisoformat(settings.partition_start):
        # a longer history than the configured one: its runs need partitions from its first day
        os.environ["PLATFORM_PARTITION_START"] = window[0].isoformat()
        print(f"the history starts before the partitions: `export PLATFORM_PARTITION_START={window[0]}` "
              "before `make ui`")
    report = simulate(settings.app_dsn, seed=seed, scale=scale, days=days, end_date=window[1], defects=defect_rate)
    write_simulator_report(settings.home, report)
    log.info("simulated %s rows", f"{report.total_rows:,}")

    from orchestration.cli.launch import code_location, serving_daemon

    summary = DemoSummary()
    # Every run is submitted for the code location of workspace.yaml and started by the daemon, as the
    # UI and the schedules start theirs: it shows under its job, on the timeline, and can be re-executed.
    from datamove.housekeeping.ledger import last_id

    ledger_start = last_id(settings.app_dsn)
    with DagsterInstance.get() as instance, code_location(instance) as workspace, \
            serving_daemon(instance, workspace, {PROVISIONING_SENSOR, CLEANUP_SENSOR}, settings.home / "daemon.log"):
        for label, job_name, job_window, partition_key in demo_steps(
                unarchived_window(window, settings.warehouse_dsn), today=window[1], skip=skip):
            summary.add_run(label, run_job(instance, workspace, job_name, job_window, partition_key))
        if "provisioning" not in skip:
            provision_one_demo(instance, settings.app_dsn, summary)
        if "housekeeping" not in skip:
            failed = None if "provisioning" in skip else provision_one_failing_demo(instance, settings.app_dsn, summary)
            housekeeping = run_job(instance, workspace, "housekeeping_job")
            summary.add_run("housekeeping", housekeeping)
            summary.lines.extend(housekeeping_asset_lines(housekeeping))
            if failed is not None:
                _check_failed_demo_removed(failed, summary)
            summary.lines.extend(housekeeping_lines(settings.app_dsn, ledger_start))
    _print_summary(summary, report.total_rows, window, time.perf_counter() - started, settings.home)
    _print_at_risk(settings.warehouse_dsn)
    return 0 if not summary.failures else 1


def run_job(instance: DagsterInstance, workspace: object, job_name: str, window: tuple[date, date] | None = None,
            partition_key: str | None = None) -> RunOutcome:
    """Submit one run of a job and wait until the daemon has run it."""
    from orchestration.cli.launch import RunRequest, submit, wait_for_outcome

    run = submit(instance, workspace, RunRequest(job_name, partition=partition_key, window=window))
    log.info("%s: run %s submitted", job_name, run.run_id)
    return run_outcome(instance, wait_for_outcome(instance, run.run_id, timeout=RUN_TIMEOUT_SECONDS))


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


def demo_steps(window: tuple[date, date], today: date, skip: frozenset[str] = frozenset()
               ) -> list[tuple[str, str, tuple[date, date] | None, str | None]]:
    last_day = window[1] - timedelta(days=1)
    steps: list[tuple[str, str, tuple[date, date] | None, str | None]] = [
        (f"daily pipeline {window[0]}..{last_day}", "daily_pipeline_job", window, None)]
    if "ml" not in skip:  # before the exports: customer_behavior carries the churn model's scores
        steps.append(("ml models and predictions", "ml_training_job", None, None))
    if "exports" not in skip:
        steps.append((f"BigQuery exports {window[0]}..{last_day}", "exports_daily_job", window, None))
    if "archive" not in skip:
        for month in archivable_months(window, today):
            steps.append((f"archive {month[:7]} to Parquet", "archive_monthly_job", None, month))
    return steps


def provision_one_demo(instance: DagsterInstance, app_dsn: str, summary: DemoSummary) -> None:
    """One provisioning request through the real path: the provisioning sensor, evaluated by the
    daemon, launches its run. The site is unreachable offline, so the request carries the manual
    fields the research agent falls back to."""
    from agents.provisioning.requests import insert_request
    from foundation.settings import now as platform_now
    from orchestration.cli.launch import await_sensor_run, wait_for_outcome
    from orchestration.cli.provisioning import refusal
    from orchestration.defs.provisioning.sensors import REQUEST_TAG

    request_id = insert_request(app_dsn, DEMO_CUSTOMER_URL, "make-demo", manual_input=DEMO_CUSTOMER, now=platform_now())

    launched = await_sensor_run(instance, {REQUEST_TAG: str(request_id)}, lambda: refusal(app_dsn, request_id))
    if isinstance(launched, str):
        if "duplicate of request" in launched:  # a demo re-run within the duplicate window
            summary.lines.append(f"  provisioned demo: not built again ({launched[:160]})")
        else:
            summary.failures.append(f"provisioning request {request_id}: {launched[:300]}")
        return
    finished = wait_for_outcome(instance, launched.run_id, timeout=RUN_TIMEOUT_SECONDS)
    summary.add_run(f"provisioned demo {request_id}", run_outcome(instance, finished))


def provision_one_failing_demo(instance: DagsterInstance, app_dsn: str, summary: DemoSummary) -> str | None:
    """A provisioning request that fails after its BigQuery dataset exists, as one does when a table of the
    same name was left in the dataset with another schema: the failed request's dataset must not stay
    behind. The clean-up sensor launches ``provisioning_cleanup_job`` for it; returns the dataset's id."""
    from google.cloud import bigquery

    from agents.provisioning.infrastructure import dataset_name
    from agents.provisioning.requests import insert_request
    from agents.templates import get_template
    from foundation.settings import now as platform_now
    from orchestration.cli.launch import await_sensor_run, wait_for_outcome
    from orchestration.cli.provisioning import refusal
    from orchestration.defs.provisioning.sensors import REQUEST_TAG
    from orchestration.lib.resources import BigQueryResource

    client = BigQueryResource.from_settings().get_client()
    request_id = insert_request(app_dsn, FAILING_CUSTOMER_URL, "make-demo", manual_input=FAILING_CUSTOMER,
                                now=platform_now())
    dataset = f"{client.project}.{dataset_name(request_id)}"
    client.create_dataset(bigquery.Dataset(dataset), exists_ok=True)
    for table in get_template(FAILING_DOMAIN).design.tables:  # a conflicting table of each name
        client.create_table(bigquery.Table(f"{dataset}.{table.name}", schema=[
            bigquery.SchemaField("left_over", "STRING")]), exists_ok=True)

    launched = await_sensor_run(instance, {REQUEST_TAG: str(request_id)}, lambda: refusal(app_dsn, request_id))
    if isinstance(launched, str):  # refused (a demo re-run within the duplicate window): failed all the same
        summary.lines.append(f"  failing demo {request_id}: refused by the sensor ({launched[:120]})")
    else:
        finished = wait_for_outcome(instance, launched.run_id, timeout=RUN_TIMEOUT_SECONDS)
        summary.add_run(f"failing demo {request_id}", run_outcome(instance, finished), expect_failure=True)
    cleanup = await_sensor_run(instance, {"platform/failed_request": str(request_id)}, lambda: None)
    if isinstance(cleanup, str):
        summary.failures.append(f"no clean-up run after failed request {request_id}: {cleanup[:300]}")
        return dataset
    cleaned = run_outcome(instance, wait_for_outcome(instance, cleanup.run_id, timeout=RUN_TIMEOUT_SECONDS))
    summary.add_run(f"clean-up after request {request_id}", cleaned)
    summary.lines.extend(housekeeping_asset_lines(cleaned))
    return dataset


def _check_failed_demo_removed(dataset: str, summary: DemoSummary) -> None:
    from google.api_core.exceptions import NotFound

    from orchestration.lib.resources import BigQueryResource

    try:
        BigQueryResource.from_settings().get_client().get_dataset(dataset)
    except NotFound:
        summary.lines.append(f"  failed request's dataset {dataset}: removed")
        return
    summary.failures.append(f"the failed request's dataset {dataset} is still there")


HOUSEKEEPING_COUNTS = ("bigquery_datasets", "datasets_already_gone", "data_agents", "checkpoint_threads",
                       "kept_in_use", "orphan_embeddings", "generated_files")


def housekeeping_asset_lines(result: RunOutcome) -> list[str]:
    """Each housekeeping asset with the counts its metadata carries (as its page in the UI shows them)."""
    lines = []
    for event in result.materializations:
        counts = [f"{name} {event.metadata[name].value}" for name in HOUSEKEEPING_COUNTS if name in event.metadata]
        kinds = event.metadata.get("kinds")
        lines.append(f"    {event.asset_key.to_user_string():<36} " + ", ".join(counts)
                     + (f"; kinds {kinds.value}" if kinds is not None else ""))
    return lines


def housekeeping_lines(app_dsn: str, since_id: int) -> list[str]:
    """What each clean-up removed during the demo, from housekeeping_deletions (what, when, why)."""
    from datamove.housekeeping.ledger import deletions

    done = [d for d in deletions(app_dsn, since_id=since_id) if d.state == "done"]
    lines = ["  housekeeping removed (table housekeeping_deletions; rules: foundation/retention.py):"]
    if not done:
        lines.append("    nothing was due")
    labels = {"bigquery_dataset": "BigQuery datasets", "data_agent": "data agents",
              "checkpoints": "checkpoint threads", "embeddings": "orphan embeddings",
              "generated_files": "generated file folders"}
    for kind, label in labels.items():
        rows = [d for d in done if d.kind == kind and not d.already_gone]
        gone = [d for d in done if d.kind == kind and d.already_gone]
        if gone:
            lines.append(f"    {label} already gone, recorded as deleted: {', '.join(d.target for d in gone[:4])}")
        if not rows:
            lines.append(f"    {label}: 0")
            continue
        items = sum(d.items for d in rows) if kind == "embeddings" else len(rows)
        targets = ", ".join(d.target for d in rows[:4]) + (" …" if len(rows) > 4 else "")
        lines.append(f"    {label}: {items} ({targets}; why: {rows[-1].reason})")
    return lines


FAILING_CUSTOMER_URL = "https://www.leftover-tables.example/"
FAILING_DOMAIN = "ecommerce"
FAILING_CUSTOMER = {
    "business_name": "Leftover Tables Ltd",
    "domain": FAILING_DOMAIN,
    "products": ["chairs", "tables"],
    "description": "A furniture shop whose demo dataset holds tables of an older schema.",
}

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
    print("Next: `make ui` and open http://127.0.0.1:3000 (Assets, Runs, Automation for schedules and sensors);")
    print(f"      it serves the Data Docs on {load_settings().data_docs_url} (files: {home / 'data_docs'});"
          f" archive: {home / 'archive'}")
    print("      `eval \"$(.venv/bin/platform env)\"` exports the settings for psql, dbt and dagster commands;")
    print("      `platform quarantine list`, `platform archive list`, `platform provision URL`.")
