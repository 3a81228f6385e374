"""Session fixtures: the real embedded PostgreSQL in a temporary folder, stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# The session's "today" is pinned before any platform module computes partitions from it:
# PLATFORM_TODAY when given (replaying a day), else the real UTC day at start, so a run that
# crosses midnight keeps one calendar. Child processes (run workers, crash targets) inherit it.
os.environ.setdefault("PLATFORM_TODAY", datetime.now(UTC).date().isoformat())
# Partitions start with the configured history (by default PLATFORM_DAYS + 30 days before today); the
# tests name fixed days (2024-01-02, 2026-03-01), so the session configures an early first partition.
os.environ.setdefault("PLATFORM_PARTITION_START", "2024-01-01")

from datamove.extract import extract_table
from foundation.catalog import SOURCE_TABLES, Window
from foundation.settings import Settings
from foundation.settings import today as platform_today
from orchestration.defs.raw.assets import RAW_LOAD_POLICY
from orchestration.simulator import SimulationReport, simulate
from orchestration.stack.postgres import ensure_environment, postmaster_pid
from tests.crash import SURVIVED, CrashRunner
from tests.simulations import Simulations

TINY_DAYS = 30
TINY_DEFECT_RATE = 0.01

# Fixtures of other areas (BigQuery emulator, ...) live in their own modules.
pytest_plugins = ["tests.bigquery_fixtures"]

# Tests never touch a configured production system.
_PRODUCTION_VARIABLES = (
    "PLATFORM_APP_DSN",
    "PLATFORM_WAREHOUSE_DSN",
    "PLATFORM_REPLICA_DSN",
    "PLATFORM_DAGSTER_DSN",
    "BIGQUERY_API_ENDPOINT",
    "ANTHROPIC_API_KEY",
    "PLATFORM_MODEL_SIGNING_KEY",
    "ARCHIVE_URL",
    "DAGSTER_HOME",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--property-examples", type=int, default=12,
                     help="Hypothesis examples per property test (default 12, the CI budget)")


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
    _stop_immediately(settings.pgdata)


def _stop_immediately(pgdata: Path, timeout: float = 30.0) -> None:
    """The session's server, by its pid, in immediate mode (SIGQUIT): its data folder is deleted next, so
    the shutdown checkpoint of a fast stop (seconds to tens of seconds after a whole suite) buys nothing."""
    pid = postmaster_pid(pgdata)
    if pid is None:
        return
    os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and postmaster_pid(pgdata) == pid:
        time.sleep(0.05)


@dataclass(frozen=True)
class LoadedWarehouse:
    settings: Settings
    report: SimulationReport
    window: Window


@pytest.fixture(scope="session")
def warehouse(platform: Settings) -> LoadedWarehouse:
    """The app database filled by the simulator at the tiny scale, and every raw table extracted."""
    end = platform_today()
    # 1% per defect kind: every kind lands on rows that are otherwise valid too
    report = simulate(platform.app_dsn, seed=7, scale="tiny", days=TINY_DAYS, end_date=end,  # type: ignore[arg-type]
                      defects=TINY_DEFECT_RATE)
    window = Window(end - timedelta(days=TINY_DAYS), end)
    for table in SOURCE_TABLES:
        extract_table(table, platform.app_dsn, platform.warehouse_dsn,  # type: ignore[arg-type]
                      window if table.partitioned else None, policy=RAW_LOAD_POLICY)
    return LoadedWarehouse(platform, report, window)


@pytest.fixture(scope="session")
def simulations(platform: Settings) -> Simulations:
    """One simulation per profile per session (tests/simulations.py): copies of template databases."""
    from orchestration.stack.postgres import OWNER_ROLE

    admin = platform.app_dsn.replace(f"{OWNER_ROLE}@/app", "postgres@/postgres")  # type: ignore[union-attr]
    return Simulations(admin, lambda name: platform.app_dsn.replace("/app?", f"/{name}?"))  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def scratch_database(simulations: Simulations) -> Callable[[str], str]:
    """Factory: a fresh, empty database owned by the platform role, for tests that must not touch `app`."""
    return simulations.empty


@pytest.fixture(scope="session")
def crash_runner() -> CrashRunner:
    """The one fork server the SIGKILL tests of every area (archive, export, raw load) fork from."""
    return CrashRunner()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SURVIVED:
        counts = ", ".join(f"{area} {n}" for area, n in sorted(SURVIVED.items()))
        terminalreporter.write_line(f"injected SIGKILL crashes survived: {sum(SURVIVED.values())} ({counts})")
