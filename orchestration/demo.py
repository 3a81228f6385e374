"""`make demo`: the whole platform end to end on the embedded defaults, then a summary."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from orchestration.cli import default_window
from orchestration.simulator import SimulationReport
from orchestration.stack import stack_up

log = logging.getLogger(__name__)

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class DemoSummary:
    assets: int = 0
    rows: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    lines: list[str] = field(default_factory=list)

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
        self.assets += len({e.asset_key for e in materializations})
        self.rows += rows
        self.checks_passed += passed
        self.checks_failed += len(checks) - passed
        self.lines.append(f"  {label:<28} {len(materializations):>4} materializations  {rows:>10,} rows  "
                          f"{passed}/{len(checks)} checks passed  (run {result.run_id[:8]})")


def run_job(defs: Definitions, instance: DagsterInstance, job_name: str,
            window: tuple[date, date] | None = None) -> ExecuteInProcessResult:
    """Run a job of the code location in-process on the platform's instance (visible in the UI)."""
    tags = {}
    if window is not None:
        tags = {PARTITION_RANGE_START: window[0].isoformat(),
                PARTITION_RANGE_END: (window[1] - timedelta(days=1)).isoformat()}
    job = defs.resolve_job_def(job_name)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=quiet)


def run_demo(*, scale: str, days: int, seed: int) -> int:
    started = time.perf_counter()
    settings = stack_up()
    from orchestration.simulator import simulate

    window = default_window(days)
    report = simulate(settings.app_dsn, seed=seed, scale=scale, days=days, end_date=window[1])  # type: ignore[arg-type]
    write_simulator_report(settings.home, report)
    log.info("simulated %s rows", f"{report.total_rows:,}")

    from orchestration.definitions import defs

    summary = DemoSummary()
    with DagsterInstance.get() as instance:
        for label, job_name, job_window in demo_steps(window):
            result = run_job(defs, instance, job_name, job_window)
            summary.add_run(label, result)
            if not result.success:
                summary.lines.append(f"    ! {job_name} failed: see the run in the UI")
    _print_summary(summary, report.total_rows, window, time.perf_counter() - started)
    return 0 if summary.checks_failed == 0 and all("failed" not in line for line in summary.lines) else 1


def write_simulator_report(home: Path, report: SimulationReport) -> Path:
    """Where the ML assets find the simulator's ceilings (and a person finds what was planted)."""
    path = home / "simulator_report.json"
    path.write_text(json.dumps(asdict(report), indent=2, default=str))
    return path


def demo_steps(window: tuple[date, date]) -> list[tuple[str, str, tuple[date, date] | None]]:
    return [
        (f"daily pipeline {window[0]}..{window[1] - timedelta(days=1)}", "daily_pipeline_job", window),
        ("ml models and predictions", "ml_training_job", None),
    ]


def _print_summary(summary: DemoSummary, source_rows: int, window: tuple[date, date], seconds: float) -> None:
    print()
    print("Agent platform demo")
    print(f"  window: {window[0]} .. {window[1] - timedelta(days=1)}  simulated source rows: {source_rows:,}")
    for line in summary.lines:
        print(line)
    print(f"  total: {summary.assets} assets materialized, {summary.rows:,} rows, "
          f"{summary.checks_passed} checks passed, {summary.checks_failed} failed, {seconds:.0f}s")
    print()
    print("Next: `make ui` and open http://127.0.0.1:3000 (Assets > raw, Runs, Automation);")
    print("      `eval \"$(.venv/bin/platform env)\"` exports the settings for psql and the dbt CLI.")
