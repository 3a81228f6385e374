"""The platform's Dagster instance (``dagster.yaml``) on PostgreSQL: one kept connection per process.

Every run, sensor tick and webserver query goes through it; with dagster-postgres' default a new
connection was opened for each statement (10,126 for one day of the daily pipeline)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from dagster import DagsterInstance, DagsterRun

from foundation.connections import sqlalchemy_url
from foundation.settings import REPO_ROOT, Settings
from orchestration.lib.instance_storage import application_name


@pytest.fixture()
def instance(platform: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """An instance on the platform's own dagster.yaml, as the daemon and every run worker load it."""
    shutil.copyfile(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_URL", sqlalchemy_url(platform.dagster_dsn, driver="psycopg2"))  # type: ignore[arg-type]
    with DagsterInstance.get() as loaded:
        yield loaded


def _sessions(dsn: str) -> int:
    """Sessions PostgreSQL has opened on the ``dagster`` database so far (this query's own included)."""
    with psycopg.connect(dsn) as conn:
        return int(conn.execute("select sessions from pg_stat_database where datname = current_database()"
                                ).fetchone()[0])  # type: ignore[index]


def test_an_instance_reuses_one_connection_for_its_statements(instance: DagsterInstance,
                                                              platform: Settings) -> None:
    dsn = platform.dagster_dsn
    assert dsn
    # each storage (runs, event log, schedules) opens the connection it keeps
    instance.get_runs(limit=1)
    instance.all_logs("no-such-run")
    instance.all_instigator_state()
    before = _sessions(dsn)
    run = instance.add_run(DagsterRun(job_name="storage_probe", run_id=os.urandom(8).hex()))
    for _ in range(20):
        instance.get_run_by_id(run.run_id)
        instance.all_logs(run.run_id)
        instance.all_instigator_state()
    instance.delete_run(run.run_id)
    # 60 reads and two writes on the kept connections: the only new session is the second count's
    assert _sessions(dsn) - before == 1


def test_an_instance_survives_its_connection_being_closed(instance: DagsterInstance, platform: Settings) -> None:
    """A restarted database or an idle-timeout kill: the next statement reconnects instead of failing."""
    dsn = platform.dagster_dsn
    assert dsn
    instance.get_runs(limit=1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        ended = conn.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                             "where application_name = %s", (application_name(),)).fetchone()[0]  # type: ignore[index]
    assert ended >= 1
    run = instance.add_run(DagsterRun(job_name="storage_probe", run_id=os.urandom(8).hex()))
    assert instance.get_run_by_id(run.run_id) is not None
    instance.delete_run(run.run_id)


def test_materializations_and_check_results_open_no_session(instance: DagsterInstance, platform: Settings) -> None:
    """dagster-postgres asks whether a table exists on every check result and every materialization;
    for a materialization it asked on a second connection while the first held the transaction: a
    new session per materialization, 73 a day (and 1,099 catalogue queries). The storage remembers
    the tables it found."""
    from dagster import AssetCheckEvaluation, AssetKey, AssetMaterialization, DagsterEvent, DagsterEventType
    from dagster._core.events import StepMaterializationData

    dsn = platform.dagster_dsn
    assert dsn
    run = instance.add_run(DagsterRun(job_name="storage_probe", run_id=os.urandom(8).hex()))
    key = AssetKey(["storage_probe", run.run_id])

    def materialize(day: str) -> None:
        data = StepMaterializationData(AssetMaterialization(asset_key=key, partition=day,
                                                            tags={"dagster/data_version": day}))
        instance.report_dagster_event(DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "probe",
                                                   event_specific_data=data), run.run_id)

    def check(day: str) -> None:
        evaluation = AssetCheckEvaluation(asset_key=key, check_name="probe", passed=True, partition=day)
        instance.report_dagster_event(DagsterEvent(DagsterEventType.ASSET_CHECK_EVALUATION.value, "probe",
                                                   event_specific_data=evaluation), run.run_id)

    materialize("2026-01-01")
    check("2026-01-01")
    before = _sessions(dsn)
    for day in range(2, 12):
        materialize(f"2026-01-{day:02d}")
        check(f"2026-01-{day:02d}")
    assert _sessions(dsn) - before == 1  # the second count's own
    assert len(instance.fetch_materializations(key, limit=20).records) == 11
    instance.delete_run(run.run_id)
    instance.wipe_assets([key])

