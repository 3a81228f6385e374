"""Benchmark: one day's partition of the daily pipeline, as the 02:00 schedule runs it, against the
same work done by hand in the same run.

Set-up (not timed): an embedded stack in a temporary folder, ``--days`` of simulated history at
``--scale``, the daily pipeline over that history as one range run, a running ``dagster-daemon``.

Timed:
- platform: ``daily_pipeline_job`` for yesterday, submitted to the instance for the code location
  (``orchestration/cli/launch.py``) and run by the daemon's run launcher, from submit to success;
- baseline: the same work written by hand in one process: ``psql | psql`` COPY of the day for
  every partitioned raw table and a COPY of every snapshot table (into a scratch schema), one
  ``dbt build`` of the whole project (what the job's two dbt steps build) with the day's window,
  and one Great Expectations context validating every suite the job checks.

    .venv/bin/python bench/daily.py [--scale small] [--days 14]

Last line: one JSON object with ``seconds``, ``baseline_seconds``, ``vs_baseline`` (= baseline /
platform, target >= 0.5), ``steps``, ``step_overhead_seconds`` (sum over steps of the time between a
step's worker starting and the step starting), ``run_start_seconds`` (submit to the run worker
ready), and the platform's time by kind of step.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._home import fresh_platform_home  # noqa: E402 - stdlib only, before the project

log = logging.getLogger("bench.daily")


def _step_kind(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "raw"
    if step_key.startswith("quality_"):
        return "checks"
    if step_key == "marts":
        return "dbt"
    if step_key.startswith("reconcile_"):
        return "reconcile"
    return step_key


def run_timings(instance: object, run_id: str) -> dict[str, object]:
    """Steps, per-step overhead and time by kind of step, from the run's event log."""
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    workers: dict[str, float] = {}
    ends: dict[str, float] = {}
    run_events: dict[str, float] = {}
    for record in instance.all_logs(run_id):  # type: ignore[attr-defined]
        event = record.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind in (DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS,
                    DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_ENQUEUED):
            run_events.setdefault(kind.value, record.timestamp)
        elif kind == DagsterEventType.STEP_WORKER_STARTING:
            workers[event.step_key] = record.timestamp  # type: ignore[index]
        elif kind == DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp  # type: ignore[index]
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            ends[event.step_key] = record.timestamp  # type: ignore[index]
    by_kind: dict[str, float] = defaultdict(float)
    for step, started in starts.items():
        by_kind[_step_kind(step)] += ends.get(step, started) - started
    overhead = sum(starts[s] - workers[s] for s in starts if s in workers)
    return {
        "steps": len(starts),
        # dbt invocations: one per dbt op of the job (8 while dbt's source tests were blocking: docs/marts.md)
        "dbt_steps": sum(1 for step in starts if step.startswith("marts")),
        "step_overhead_seconds": round(overhead, 1),
        "step_seconds_by_kind": {k: round(v, 1) for k, v in sorted(by_kind.items())},
        "run_events": run_events,
    }


def run_start_seconds(events: dict[str, float]) -> float | None:
    """From the run entering the queue to its worker starting the run."""
    from dagster import DagsterEventType

    queued, started = events.get(DagsterEventType.RUN_ENQUEUED.value), events.get(DagsterEventType.RUN_START.value)
    return round(started - queued, 1) if queued and started else None


def _failures(instance: object, run_id: str) -> list[str]:
    """What failed in a run: failed steps' errors and failed blocking checks, for the bench's error."""
    lines = []
    for entry in instance.all_logs(run_id):  # type: ignore[attr-defined]
        event = entry.dagster_event
        if event is None:
            continue
        if event.is_step_failure or event.event_type_value == "RUN_FAILURE":
            lines.append(f"{event.step_key or 'run'}: {entry.message[:500]}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            data = event.event_specific_data
            lines.append(f"check {data.asset_key.to_user_string()}:{data.check_name} failed "
                         f"({data.severity.value}) {str(data.metadata)[:300]}")
    return lines


def run_job(instance: object, request: object) -> tuple[str, float]:
    from orchestration.cli.launch import code_location, submit, wait_for

    with code_location(instance) as workspace:  # type: ignore[arg-type]
        started = time.time()
        run = submit(instance, workspace, request)  # type: ignore[arg-type]
    [finished] = wait_for(instance, [run.run_id], timeout=7200)  # type: ignore[arg-type]
    if finished.status.value != "SUCCESS":
        raise RuntimeError(f"{request} ended {finished.status.value}: see run {run.run_id}\n"
                           + "\n".join(_failures(instance, run.run_id)))
    stats = instance.get_run_stats(run.run_id)  # type: ignore[attr-defined]
    return run.run_id, (stats.end_time or time.time()) - started


def simulated_history(app_dsn: str, *, scale: str, days: int, end: date) -> None:
    """Before anything is timed: dbt's manifest parsed for this warehouse, and ``days`` days of simulated
    source rows ending before ``end`` (the same seed in every bench)."""
    from orchestration.lib.dbt_project import prepare_manifest
    from orchestration.simulator import simulate

    prepare_manifest()
    simulate(app_dsn, seed=7, scale=scale, days=days, end_date=end)


# ---- the baseline, by hand ---------------------------------------------------------------------

def baseline_copy(app_dsn: str, warehouse_dsn: str, day: date) -> float:
    """psql | psql COPY of the day (partitioned tables) and of every snapshot table, into bench_raw."""
    import psycopg

    from foundation.catalog import SOURCE_TABLES
    from foundation.connections import client_environment, pg_bin_dir

    psql = str(pg_bin_dir() / "psql")
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        conn.execute("CREATE SCHEMA bench_raw")
        for table in SOURCE_TABLES:
            conn.execute(f"CREATE TABLE bench_raw.{table.name} (LIKE raw.{table.name} INCLUDING DEFAULTS)")  # noqa: S608 - catalogue names
    app, app_env = client_environment(app_dsn)
    wh, wh_env = client_environment(warehouse_dsn)
    started = time.perf_counter()
    for table in SOURCE_TABLES:
        columns = ", ".join(table.columns)
        where = "TRUE"
        partition = "NULL::date"
        if table.partition_column:
            col = table.partition_column
            where = f"{col} >= '{day} 00:00:00+00' AND {col} < '{day + timedelta(days=1)} 00:00:00+00'"
            partition = f"({col} AT TIME ZONE 'UTC')::date"
        out = subprocess.Popen([psql, "-X", "-q", "-d", app, "-c",
                                f"COPY (SELECT {columns}, {partition} FROM public.{table.name} WHERE {where}) "  # noqa: S608
                                "TO STDOUT (FORMAT binary)"], stdout=subprocess.PIPE, env=app_env)
        subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", wh, "-c",
                        f"COPY bench_raw.{table.name} ({columns}, _partition_date) FROM STDIN (FORMAT binary)"],
                       stdin=out.stdout, env=wh_env, check=True)
        out.wait()
    return time.perf_counter() - started


def baseline_dbt(warehouse_dsn: str, day: date) -> float:
    """dbt as a person runs it by hand: the window as --vars (which re-parses the project)."""
    from orchestration.lib.dbt_env import dbt_environment
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, dbt_executable

    window = json.dumps({"min_date": day.isoformat(), "max_date": day.isoformat()})
    started = time.perf_counter()
    done = subprocess.run([dbt_executable(), "build", "--vars", window, "--threads", "2", "--project-dir",
                           str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
                           str(Path(tempfile.gettempdir()) / "bench-daily-target")],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, **dbt_environment(warehouse_dsn)})
    if done.returncode != 0:
        raise RuntimeError(f"baseline dbt build failed:\n{done.stdout[-3000:]}")
    return time.perf_counter() - started


def baseline_gx(warehouse_dsn: str, day: date) -> float:
    """One GX context and data source; every suite the job checks validated on its batch view."""
    import great_expectations as gx

    from foundation.connections import sqlalchemy_url
    from foundation.settings import now
    from quality.rules import MART_SUITES, QUALITY_SCHEMA, RAW_SUITES
    from quality.warehouse import batch_view_name

    started = time.perf_counter()
    # GX validates a literal URL as host-based; a Unix-socket DSN goes in as a config variable, as
    # the platform passes it (quality/validation.py)
    context = gx.get_context(mode="ephemeral", runtime_environment={"BENCH_WAREHOUSE_URL": sqlalchemy_url(warehouse_dsn)})
    options = (f"-c platform.now={now().isoformat()} -c quality.window_start={day} "
               f"-c quality.window_end={day + timedelta(days=1)}")
    source = context.data_sources.add_postgres("warehouse", connection_string="${BENCH_WAREHOUSE_URL}",
                                               kwargs={"connect_args": {"options": options}})
    import psycopg

    with psycopg.connect(warehouse_dsn) as conn:  # the batch views the platform's run left (one per suite it ran)
        views = {name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (QUALITY_SCHEMA,))}
    for suite in [s for s in (*RAW_SUITES.values(), *MART_SUITES.values()) if batch_view_name(s) in views]:
        expectations = [e for e in (r.expectation(suite, now(), None) for r in suite.rules
                                    if r.kind not in ("error_budget", "freshness")) if e is not None]
        asset = source.add_table_asset(name=suite.suite_name, table_name=batch_view_name(suite),
                                       schema_name=QUALITY_SCHEMA)
        batch = asset.add_batch_definition_whole_table(suite.suite_name)
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.suite_name, expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.suite_name, data=batch, suite=gx_suite))
        definition.run(result_format={"result_format": "BASIC", "partial_unexpected_count": 0})
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", help="simulator scale (tiny | small | medium | full)")
    parser.add_argument("--days", type=int, default=14, help="days of history before the measured day")
    options = parser.parse_args()
    home = fresh_platform_home("bdaily-")

    from dagster import DagsterInstance

    from foundation.settings import today
    from orchestration.cli.launch import RunRequest, code_location, serving_daemon
    from orchestration.stack.control import stack_down, stack_up

    settings = stack_up()
    assert settings.app_dsn and settings.warehouse_dsn
    end = today()
    day = end - timedelta(days=1)
    report: dict[str, object] = {"scale": options.scale, "history_days": options.days, "day": day.isoformat()}
    try:
        simulated_history(settings.app_dsn, scale=options.scale, days=options.days + 1, end=end)
        # the daemon runs the benchmark's runs only: a real-time refresh of today beside them would take
        # the two cores, and the queue (one run with a dbt step at a time) would hold the timed run behind it
        with DagsterInstance.get() as instance, code_location(instance) as workspace, \
                serving_daemon(instance, workspace, keep=set(), log_path=home / "daemon.log"):
            started = time.perf_counter()
            run_job(instance, RunRequest("daily_pipeline_job", window=(end - timedelta(days=options.days + 1), day)))
            log.info("history ready in %.0fs", time.perf_counter() - started)
            run_id, seconds = run_job(instance, RunRequest("daily_pipeline_job", partition=day.isoformat()))
            timings = run_timings(instance, run_id)
        events = timings.pop("run_events")
        log.info("platform run %s: %.1fs %s", run_id[:8], seconds, timings)
        copy_seconds = baseline_copy(settings.app_dsn, settings.warehouse_dsn, day)
        dbt_seconds = baseline_dbt(settings.warehouse_dsn, day)
        gx_seconds = baseline_gx(settings.warehouse_dsn, day)
        baseline = copy_seconds + dbt_seconds + gx_seconds
        report.update({
            "seconds": round(seconds, 1),
            "baseline_seconds": round(baseline, 1),
            "vs_baseline": round(baseline / seconds, 3),
            **timings,
            "run_start_seconds": run_start_seconds(events),  # type: ignore[arg-type]
            "baseline_by_kind": {"copy": round(copy_seconds, 1), "dbt": round(dbt_seconds, 1),
                                 "gx": round(gx_seconds, 1)},
        })
    finally:
        stack_down()
        shutil.rmtree(home, ignore_errors=True)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
