"""Fixtures of the agents area: the local fixture website and the migrated app database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.testing.fixture_sites import FixtureSites
from foundation.settings import Settings


@pytest.fixture(scope="session")
def fixture_sites() -> Iterator[FixtureSites]:
    sites = FixtureSites(huge_bytes=4 * 1024 * 1024, slow_seconds=5.0).start()
    yield sites
    sites.stop()


@pytest.fixture(scope="session")
def app_dsn(platform: Settings) -> str:
    """The embedded app database with its migrations applied (idempotent)."""
    from orchestration.db.migrate import upgrade

    assert platform.app_dsn
    upgrade(platform.app_dsn)
    return platform.app_dsn
