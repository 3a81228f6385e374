"""Fixtures of the provisioning tests: their own migrated app database, the fixture website,
the real BigQuery emulator, and a factory of graph dependencies."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agents.guards.url import URLPolicy
from agents.llm import LLMProvider, UsageRecorder, get_provider
from agents.provisioning import ProvisioningDeps
from agents.testing.fixture_sites import FixtureSites
from orchestration.db.migrate import upgrade
from tests.bigquery_fixtures import BigQueryEmulator

# Tests only: the fixture website lives on loopback, which the URL guard refuses otherwise.
TEST_URL_POLICY = URLPolicy(allow_hosts=frozenset({"127.0.0.1"}))
TEST_ROW_SCALE = 0.02


@pytest.fixture(scope="session")
def prov_dsn(scratch_database: Callable[[str], str]) -> str:
    """A migrated app database of its own: other areas' rows never meet the sensor's queries."""
    dsn = scratch_database("provisioning_tests")
    upgrade(dsn)
    return dsn


@pytest.fixture(scope="session")
def sites() -> Iterator[FixtureSites]:
    with FixtureSites(slow_seconds=2.0) as running:
        yield running


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("provisioning-work")


DepsFactory = Callable[..., ProvisioningDeps]


@pytest.fixture()
def make_deps(prov_dsn: str, bigquery: BigQueryEmulator, work_dir: Path) -> DepsFactory:
    def make(provider: LLMProvider | None = None, **overrides: Any) -> ProvisioningDeps:
        values: dict[str, Any] = {
            "app_dsn": prov_dsn,
            "bigquery_client": bigquery.client(),
            "provider": provider or get_provider(recorder=UsageRecorder(prov_dsn)),
            "work_dir": work_dir,
            "location": bigquery.location,
            "url_policy": TEST_URL_POLICY,
            "row_scale": TEST_ROW_SCALE,
        }
        values.update(overrides)
        return ProvisioningDeps(**values)

    return make


def closed_port_url() -> str:
    """A loopback URL nothing listens on: an unreachable customer site."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def rows(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
