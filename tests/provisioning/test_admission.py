"""What the provisioning sensor refuses to launch (quota, duplicate URL, deadline) and the run-level time limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context, instance_for_test
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG

from agents.provisioning import insert_request
from agents.provisioning.admission import REQUEST_LIMITS, normalize_url
from foundation.settings import REPO_ROOT
from orchestration.db.migrate import upgrade
from orchestration.defs.provisioning.sensors import MAX_RUNTIME_SECONDS, provisioning_requests_sensor
from orchestration.lib.resources import PostgresResource
from tests.provisioning.conftest import rows


@pytest.fixture()
def admission_dsn(scratch_database: Callable[[str], str]) -> str:
    """A fresh app database per test: quotas and duplicates depend on every earlier request."""
    dsn = scratch_database("provisioning_admission_tests")
    upgrade(dsn)
    return dsn


@pytest.fixture()
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as test_instance:
        yield test_instance


def _tick(instance: DagsterInstance, dsn: str) -> SensorResult | SkipReason:
    context = build_sensor_context(instance=instance, resources={"app_db": PostgresResource(dsn=dsn)})
    return provisioning_requests_sensor(context)


def _launched(result: SensorResult | SkipReason) -> list[str]:
    assert isinstance(result, SensorResult), getattr(result, "skip_message", result)
    return [r.run_key or "" for r in result.run_requests or []]


def _error(dsn: str, request_id: int) -> tuple[str, str | None]:
    ((status, error),) = rows(dsn, "SELECT status, error FROM provisioning_requests WHERE id = %s", request_id)
    return status, error


def test_provisioning_runs_carry_a_run_level_time_limit_the_daemon_enforces(
    admission_dsn: str, instance: DagsterInstance
) -> None:
    insert_request(admission_dsn, "https://timed.example.com/", "ce@example.com")
    result = _tick(instance, admission_dsn)
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests or []
    assert request.tags[MAX_RUNTIME_SECONDS_TAG] == str(MAX_RUNTIME_SECONDS)
    assert 0 < MAX_RUNTIME_SECONDS <= 4 * 3600
    # The run-monitoring daemon is what terminates a run past dagster/max_runtime.
    instance_config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert instance_config["run_monitoring"]["enabled"] is True
    docs = (REPO_ROOT / "docs" / "agents.md").read_text()
    assert "dagster/max_runtime" in docs and f"{MAX_RUNTIME_SECONDS:,} s" in docs


def test_a_requester_over_the_daily_quota_is_refused_with_a_reason(admission_dsn: str, instance: DagsterInstance) -> None:
    quota = REQUEST_LIMITS.requests_per_requester
    ids = [insert_request(admission_dsn, f"https://shop-{i}.example.com/", "alice@example.com") for i in range(quota + 1)]
    other = insert_request(admission_dsn, "https://bob.example.com/", "bob@example.com")
    launched = _launched(_tick(instance, admission_dsn))
    assert launched == [str(i) for i in ids[:quota]] + [str(other)]
    status, error = _error(admission_dsn, ids[-1])
    assert status == "failed" and error and "quota" in error and "alice@example.com" in error

    late = insert_request(admission_dsn, "https://shop-late.example.com/", "alice@example.com")
    skip = _tick(instance, admission_dsn)
    assert isinstance(skip, SkipReason)
    assert f"request {late}" in (skip.skip_message or "") and "quota" in (skip.skip_message or "")
    assert _error(admission_dsn, late)[0] == "failed"


def test_the_same_normalised_url_within_the_window_is_launched_once(admission_dsn: str, instance: DagsterInstance) -> None:
    assert normalize_url("HTTPS://www.Example.com:443/Shop/?b=2&a=1#top") == normalize_url("http://example.com/Shop?a=1&b=2")
    first = insert_request(admission_dsn, "https://www.example.com/shop/", "alice@example.com")
    again = insert_request(admission_dsn, "http://Example.com/shop#pricing", "bob@example.com")
    assert _launched(_tick(instance, admission_dsn)) == [str(first)]
    status, error = _error(admission_dsn, again)
    assert status == "failed" and error and f"duplicate of request {first}" in error

    # Once the earlier request is older than the window, the same URL may be provisioned again.
    with psycopg.connect(admission_dsn, autocommit=True) as conn:
        conn.execute("UPDATE provisioning_requests SET created_at = created_at - %s WHERE id = %s",
                     (REQUEST_LIMITS.duplicate_window + timedelta(minutes=1), first))
    later = insert_request(admission_dsn, "https://example.com/shop", "carol@example.com")
    assert _launched(_tick(instance, admission_dsn)) == [str(later)]


def test_a_request_older_than_its_deadline_is_failed_not_launched(admission_dsn: str, instance: DagsterInstance) -> None:
    stale = insert_request(admission_dsn, "https://stale.example.com/", "alice@example.com")
    with psycopg.connect(admission_dsn, autocommit=True) as conn:
        conn.execute("UPDATE provisioning_requests SET created_at = created_at - %s WHERE id = %s",
                     (REQUEST_LIMITS.deadline + timedelta(minutes=5), stale))
    skip = _tick(instance, admission_dsn)
    assert isinstance(skip, SkipReason)
    assert f"request {stale}" in (skip.skip_message or "") and "deadline" in (skip.skip_message or "")
    status, error = _error(admission_dsn, stale)
    assert status == "failed" and error and "deadline" in error
    assert rows(admission_dsn, "SELECT finished_at IS NOT NULL FROM provisioning_requests WHERE id = %s", stale) == [
        (True,)]


def test_the_limits_are_documented() -> None:
    docs = Path(REPO_ROOT / "docs" / "agents.md").read_text()
    for text in (f"{REQUEST_LIMITS.requests_per_requester} requests per requester",
                 "rolling 24 h", "agents/provisioning/admission.py"):
        assert text in docs
