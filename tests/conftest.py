"""Session fixtures: the real embedded PostgreSQL in a temporary folder, stopped by pid."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.embedded import ensure_environment, stop_postgres
from orchestration.settings import Settings

# Tests never touch a configured production system.
_PRODUCTION_VARIABLES = (
    "PLATFORM_APP_DSN",
    "PLATFORM_WAREHOUSE_DSN",
    "PLATFORM_REPLICA_DSN",
    "PLATFORM_DAGSTER_DSN",
    "BIGQUERY_API_ENDPOINT",
    "ANTHROPIC_API_KEY",
    "ARCHIVE_URL",
    "DAGSTER_HOME",
)


@pytest.fixture(scope="session")
def platform_home() -> Iterator[Path]:
    # Short path under /tmp: the PostgreSQL socket lives in the data directory.
    home = Path(tempfile.mkdtemp(prefix="plt-", dir="/tmp"))
    os.chmod(home, 0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def platform(platform_home: Path) -> Iterator[Settings]:
    """The embedded stack for the whole session; DSN variables exported like `make demo` does."""
    for name in _PRODUCTION_VARIABLES:
        os.environ.pop(name, None)
    os.environ["PLATFORM_HOME"] = str(platform_home)
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "true"
    settings = ensure_environment()
    yield settings
    stop_postgres(settings.pgdata)
