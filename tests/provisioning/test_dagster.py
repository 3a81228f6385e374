"""The provisioning sensor and job: one run per request, exactly once, and the outcome as an asset."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator

import psycopg
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    SensorResult,
    SkipReason,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.storage.tags import RUN_KEY_TAG

from agents.provisioning import insert_request
from agents.testing.fixture_sites import FixtureSites
from orchestration.cli.sensor_runs import provision_via_sensor
from orchestration.db.migrate import upgrade
from orchestration.defs.provisioning.sensors import CONCURRENCY_TAG, provisioning_requests_sensor
from orchestration.lib.resources import (
    BigQueryResource,
    PostgresResource,
    ProvisioningSettings,
    postgres_resources,
)
from tests.bigquery_fixtures import BigQueryEmulator
from tests.defs_helpers import domain_defs
from tests.provisioning.conftest import rows
from tests.provisioning.dagster_location import APP_DSN_VARIABLE, location_definitions

log = logging.getLogger(__name__)
QUEUED_COORDINATOR = {"run_coordinator": {"module": "dagster._core.run_coordinator",
                                          "class": "QueuedRunCoordinator"}}


@pytest.fixture(scope="module")
def sensor_dsn(scratch_database: Callable[[str], str]) -> str:
    """An app database with no other requests in it: the sensor sees only this module's."""
    dsn = scratch_database("provisioning_sensor_tests")
    upgrade(dsn)
    return dsn


@pytest.fixture()
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test(overrides=QUEUED_COORDINATOR) as test_instance:
        yield test_instance


_CUSTOMERS = itertools.count()


def _insert_at_once(dsn: str, count: int) -> list[int]:
    """``count`` requests in one transaction, each a new site and requester (no duplicate, no quota refusal)."""
    numbers = [next(_CUSTOMERS) for _ in range(count)]
    with psycopg.connect(dsn) as conn:  # one transaction: all visible to the sensor at the same time
        ids = [conn.execute("INSERT INTO provisioning_requests (customer_url, requested_by) VALUES (%s, %s) "
                            "RETURNING id", (f"https://customer-{n}.example.com/", f"load-test-{n}")).fetchone()[0]
               for n in numbers]
    return ids


def _tick(instance: DagsterInstance, dsn: str, cursor: str | None) -> SensorResult | SkipReason:
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"app_db": PostgresResource(dsn=dsn)})
    return provisioning_requests_sensor(context)


def test_definitions_load_and_declare_the_provisioning_graph() -> None:
    shared = {**postgres_resources(), "bigquery": BigQueryResource(project="agent-platform-local"),
              "provisioning": ProvisioningSettings()}
    defs = Definitions.merge(domain_defs("provisioning", with_resources=False), Definitions(resources=shared))
    Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("provisioning_job")
    assert job.tags[CONCURRENCY_TAG] == "demo"
    # dagster.yaml's run retries re-run crashed runs (the checkpoint resumes them), never failed provisionings
    assert job.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    spec = defs.resolve_assets_def(AssetKey(["provisioning", "provisioned_demo"]))
    assert spec.partitions_def is not None and spec.partitions_def.name == "provisioning_requests"
    assert provisioning_requests_sensor.default_status == DefaultSensorStatus.RUNNING
    assert provisioning_requests_sensor.minimum_interval_seconds <= 10


def test_twenty_requests_make_twenty_run_requests_each_exactly_once(sensor_dsn: str, instance: DagsterInstance) -> None:
    ids = _insert_at_once(sensor_dsn, 20)
    seen: list[str] = []
    cursor: str | None = None
    skips = []
    for _ in range(4):
        result = _tick(instance, sensor_dsn, cursor)
        if isinstance(result, SkipReason):
            skips.append(result.skip_message or "")
            continue
        seen += [r.run_key or "" for r in result.run_requests or []]
        assert all(r.tags[CONCURRENCY_TAG] == "demo" and r.partition_key == r.run_key for r in result.run_requests or [])
        (added,) = result.dynamic_partitions_requests or []
        assert list(added.partition_keys or []) == [r.run_key for r in result.run_requests or []]
        cursor = result.cursor
    assert seen == [str(i) for i in ids]  # 20 distinct run keys = the request ids, in order, no repeats
    assert cursor == str(max(ids))
    assert len(skips) == 3 and f"last launched request id: {max(ids)}" in skips[0]
    assert "platform provision URL" in skips[0]
    assert rows(sensor_dsn, "SELECT DISTINCT status FROM provisioning_requests WHERE id = ANY(%s)", ids) == [("queued",)]

    late = _insert_at_once(sensor_dsn, 1)
    result = _tick(instance, sensor_dsn, cursor)
    assert isinstance(result, SensorResult) and [r.run_key for r in result.run_requests or []] == [str(late[0])]


def test_a_database_outage_is_a_skip_reason_a_person_can_act_on(instance: DagsterInstance, sensor_dsn: str) -> None:
    broken = sensor_dsn.replace("/provisioning_sensor_tests?", "/no_such_database?")
    result = _tick(instance, broken, None)
    assert isinstance(result, SkipReason)
    assert "PLATFORM_APP_DSN" in (result.skip_message or "") and "no_such_database" in (result.skip_message or "")


def test_the_daemon_launches_each_request_once_even_when_the_sensor_repeats_it(
    sensor_dsn: str, instance: DagsterInstance
) -> None:
    """Through the daemon's own sensor loop: run_key de-duplication is the daemon's job (FACTS.md)."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._daemon.sensor import execute_sensor_iteration
    from dagster._time import get_current_datetime

    with psycopg.connect(sensor_dsn, autocommit=True) as conn:  # earlier tests' requests are not this test's
        conn.execute("UPDATE provisioning_requests SET status = 'cancelled' WHERE status <> 'cancelled'")
    ids = _insert_at_once(sensor_dsn, 20)
    os.environ[APP_DSN_VARIABLE] = sensor_dsn
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(python_file=os.path.join(os.path.dirname(__file__), "dagster_location.py"),
                             attribute="defs", working_directory=os.getcwd()),
        location_name="provisioning_test",
    )
    now = get_current_datetime()
    with create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as workspace:
        with freeze_time(now):
            list(execute_sensor_iteration(workspace, log, None, None))
        runs = instance.get_runs()
        assert sorted(r.tags[RUN_KEY_TAG] for r in runs) == sorted(str(i) for i in ids)
        # The bookkeeping is lost (statuses back to pending): the sensor asks for the same 20 runs again.
        with psycopg.connect(sensor_dsn, autocommit=True) as conn:
            conn.execute("UPDATE provisioning_requests SET status = 'pending' WHERE id = ANY(%s)", (ids,))
        with freeze_time(now.timestamp() + 60):
            list(execute_sensor_iteration(workspace, log, None, None))
    assert len(instance.get_runs()) == 20  # the daemon skipped every run_key it had already launched
    assert all(r.tags[CONCURRENCY_TAG] == "demo" for r in instance.get_runs())
    assert all(r.tags["dagster/retry_on_asset_or_op_failure"] == "false" for r in instance.get_runs())


def test_one_request_through_the_sensor_and_the_dagster_job(
    sensor_dsn: str, instance: DagsterInstance, bigquery: BigQueryEmulator, sites: FixtureSites
) -> None:
    with psycopg.connect(sensor_dsn, autocommit=True) as conn:
        conn.execute("UPDATE provisioning_requests SET status = 'cancelled' WHERE status IN ('pending', 'queued')")
    request_id = insert_request(sensor_dsn, sites.url_for("fitness"), "tests@example.com")
    defs = location_definitions(sensor_dsn, BigQueryResource(project=bigquery.project, location=bigquery.location,
                                                        api_endpoint=bigquery.endpoint))

    first = provision_via_sensor(instance, defs)
    assert first.run_keys == [str(request_id)]
    (run,) = first.launched
    assert run.success
    assert run.dagster_run.tags[CONCURRENCY_TAG] == "demo"
    materialization = instance.get_latest_materialization_event(AssetKey(["provisioning", "provisioned_demo"]))
    assert materialization is not None and materialization.asset_materialization is not None
    assert materialization.asset_materialization.partition == str(request_id)
    metadata = materialization.asset_materialization.metadata
    assert metadata["llm_provider"].value == "offline-template/templates-v1"
    assert metadata["llm_offline_templates"].value is True
    assert metadata["dataset"].value == f"{bigquery.project}.demo_{request_id}"
    assert metadata["golden_queries_ok"].value == metadata["golden_queries_total"].value > 0
    assert "| question | status |" in metadata["golden_queries"].value
    assert metadata["dagster/row_count"].value > 0
    (status, run_id, result), = rows(sensor_dsn, "SELECT status, dagster_run_id, result FROM provisioning_requests "
                                                 "WHERE id = %s", request_id)
    assert (status, run_id) == ("succeeded", run.run_id)
    assert result["dataset"] == metadata["dataset"].value

    again = provision_via_sensor(instance, defs)  # nothing pending: no second run
    assert again.launched == [] and again.skip_reasons and "no pending" in again.skip_reasons[0]
