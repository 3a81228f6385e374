"""The daily pipeline for one day on Dagster's Celery executor: a real Redis broker and two Celery
worker processes, all started here on this machine and stopped by pid (issue 16, item 4).

Every step runs in a worker (its events carry a worker's pid), and the warehouse ends as the
in-process run leaves it (every raw, quarantine and mart table, row by row) with the same check
outcomes. Redis is Debian's ``redis-server`` (``make test`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from foundation.connections import sqlalchemy_url
from foundation.settings import REPO_ROOT, Settings
from foundation.settings import today as platform_today
from orchestration.stack.postgres import OWNER_ROLE, READER_ROLE, grant_warehouse_reads
from tests.simulations import CLEAN_3_DAYS, Simulations

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None and not os.environ.get("CI"),
                                reason="redis-server is not installed (`make test` installs it)")
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to that pid (Celery's warm shutdown, Redis's save-less exit), SIGKILL past the timeout."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert REDIS, "redis-server is missing: `make test` installs it (apt-get install redis-server)"
    port, folder = _free_port(), tmp_path_factory.mktemp("redis")
    redis = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline and redis.poll() is None, "redis-server did not start"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(redis)


@pytest.fixture(scope="module")
def stack(simulations: Simulations) -> dict[str, str]:
    """An app and a warehouse database of their own: three days of tiny, defect-free history (the
    session's clean profile), so the whole pipeline runs through (no blocking check stops it); the
    reader may read the warehouse."""
    app, warehouse = simulations.copy(CLEAN_3_DAYS, "celery_app").app_dsn, simulations.empty("celery_warehouse")
    with psycopg.connect(warehouse.replace(f"{OWNER_ROLE}@/", "postgres@/"), autocommit=True) as conn:
        conn.execute(f"GRANT CONNECT ON DATABASE celery_warehouse TO {READER_ROLE}")
        grant_warehouse_reads(conn)
    return {"PLATFORM_APP_DSN": app, "PLATFORM_WAREHOUSE_DSN": warehouse,
            "PLATFORM_REPLICA_DSN": warehouse.replace(f"{OWNER_ROLE}@/", f"{READER_ROLE}@/")}


@pytest.fixture(scope="module")
def dagster_home(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A persistent instance the run and the workers share: the platform's storage (dagster.yaml's) in
    the platform's PostgreSQL."""
    home = tmp_path_factory.mktemp("dagster_home")
    url = sqlalchemy_url(platform.dagster_dsn or os.environ["PLATFORM_DAGSTER_DSN"], driver="psycopg2")
    storage = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["storage"]
    storage["custom"]["config"]["postgres_url"] = url
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage, "telemetry": {"enabled": False}}))
    return home


@pytest.fixture(scope="module")
def workers(broker: str, dagster_home: Path, stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two Celery workers (solo pool: each executes its tasks in its own process, the pid we hold)."""
    config = tmp_path_factory.mktemp("celery_config")
    (config / "dagster_celery_config.py").write_text(f"broker_url = {broker!r}\nresult_backend = {broker!r}\n")
    environment = {**os.environ, **stack, "DAGSTER_HOME": str(dagster_home),
                   "PYTHONPATH": os.pathsep.join([str(config), str(REPO_ROOT)])}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    started = [subprocess.Popen([str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "--pool", "solo",
                                 "-Q", "dagster", "-n", f"platform-{n}@%h", "--prefetch-multiplier", "1",
                                 "--loglevel", "WARNING"],
                                cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
               for n in (1, 2)]
    try:
        yield started
    finally:
        for worker in started:
            _stop(worker)


def _execute(module: str, job: str, day: str, dagster_home: Path, stack: dict[str, str],
             run_config: dict[str, object] | None = None) -> str:
    """``dagster job execute`` of one partition in its own process; returns the run id."""
    command = [str(BIN / "dagster"), "job", "execute", "-m", module, "-j", job,
               "--tags", json.dumps({"dagster/partition": day})]
    if run_config:
        path = dagster_home / f"{job}.yaml"
        path.write_text(yaml.safe_dump(run_config))
        command += ["-c", str(path)]
    environment = {**os.environ, **stack, "DAGSTER_HOME": str(dagster_home)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=1500,
                          check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "RUN_SUCCESS" in output, output[-4000:]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs(dg.RunsFilter(job_name=job), limit=1)
    return run.run_id


def _warehouse_state(dsn: str) -> dict[str, tuple[int, str]]:
    """Every table of raw, quarantine and marts: rows and a checksum of their content, leaving out the
    load's own columns (``_extracted_at``, ...), which say when, not what."""
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name, string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)"
            " FROM information_schema.columns WHERE table_schema IN ('raw', 'quarantine', 'marts')"
            " AND column_name NOT LIKE '\\_%' GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        state = {}
        for schema, table, columns in tables:
            row = conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM "  # noqa: S608
                f"(SELECT md5(ROW({columns})::text) AS h FROM {schema}.{table}) AS rows").fetchone()
            assert row is not None
            state[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
    return state


def _outcomes(instance: dg.DagsterInstance, run_id: str) -> tuple[set[str], set[tuple[str, str, bool]], list[int]]:
    """What the run materialized, its check outcomes, and the pid of each step's start."""
    records = instance.get_records_for_run(run_id, limit=100_000).records
    events = [r.event_log_entry for r in records if r.event_log_entry.dagster_event]
    materialized = {e.dagster_event.asset_key.to_user_string() for e in events  # type: ignore[union-attr]
                    if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"}
    checks = {(e.dagster_event.event_specific_data.asset_key.to_user_string(),  # type: ignore[union-attr]
               e.dagster_event.event_specific_data.check_name, e.dagster_event.event_specific_data.passed)  # type: ignore[union-attr]
              for e in events if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"}
    step_pids = [e.dagster_event.pid for e in events  # type: ignore[union-attr]
                 if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
    return materialized, checks, step_pids  # type: ignore[return-value]


def test_daily_pipeline_on_celery_workers_equals_the_in_process_run(
        stack: dict[str, str], broker: str, dagster_home: Path, workers: list[subprocess.Popen[bytes]]) -> None:
    day = (platform_today() - timedelta(days=1)).isoformat()
    dsn = stack["PLATFORM_WAREHOUSE_DSN"]

    started = time.perf_counter()
    in_process = _execute("orchestration.definitions", "daily_pipeline_job", day, dagster_home, stack)
    in_process_seconds = time.perf_counter() - started
    expected = _warehouse_state(dsn)

    started = time.perf_counter()
    distributed = _execute("tests.distributed.celery_location", "daily_pipeline_celery_job", day, dagster_home,
                           stack, {"execution": {"config": {"broker": broker, "backend": broker}}})
    celery_seconds = time.perf_counter() - started
    print(f"daily pipeline for {day}: in process {in_process_seconds:.0f} s, on two Celery workers "
          f"{celery_seconds:.0f} s")

    assert _warehouse_state(dsn) == expected
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        local = _outcomes(instance, in_process)
        remote = _outcomes(instance, distributed)
    assert remote[0] == local[0] and len(local[0]) > 60  # the same assets: raw, marts, the scorecard
    assert remote[1] == local[1] and local[1]  # the same checks, with the same outcomes
    worker_pids = {worker.pid for worker in workers}
    assert len(remote[2]) == len(local[2]) > 1
    assert set(remote[2]) <= worker_pids, "a step ran outside the Celery workers"
    assert set(remote[2]) == worker_pids  # both workers took steps
    assert all(worker.poll() is None for worker in workers)
