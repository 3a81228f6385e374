"""Bad input: schema drift, an unreachable database, a failure mid-load."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from datamove.extract import LoadPolicy, SchemaDriftError, extract_table
from foundation.catalog import SOURCE_TABLES_BY_NAME, Window
from foundation.connections import DatabaseUnreachableError
from foundation.settings import Settings
from tests.conftest import LoadedWarehouse


@pytest.fixture
def drifted_app_dsn(scratch_database) -> str:  # type: ignore[no-untyped-def]
    """A scratch source database whose `trials` table has a renamed column."""
    dsn: str = scratch_database("app_drift")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""create table trials (id bigint, customer_id int, agent_id int, trial_start timestamptz,
                        trial_finish timestamptz, converted boolean, created_at timestamptz, updated_at timestamptz)""")
    return dsn


def test_renamed_source_column_fails_naming_table_and_column(drifted_app_dsn: str, platform: Settings) -> None:
    trials = SOURCE_TABLES_BY_NAME["trials"]
    with pytest.raises(SchemaDriftError) as error:
        extract_table(trials, drifted_app_dsn, platform.warehouse_dsn, Window(date(2026, 1, 1), date(2026, 1, 2)))  # type: ignore[arg-type]
    message = str(error.value)
    assert "trials" in message and "trial_end" in message and "trial_finish" in message


def test_unreachable_database_is_retried_then_fails_with_masked_dsn(platform: Settings) -> None:
    dsn = "postgresql://platform_owner:hunter2@/app?host=/nonexistent/socket/dir"
    with pytest.raises(DatabaseUnreachableError) as error:
        extract_table(SOURCE_TABLES_BY_NAME["agents"], dsn, platform.warehouse_dsn)  # type: ignore[arg-type]
    message = str(error.value)
    assert "hunter2" not in message
    assert "platform_owner:***@" in message and "after 4 attempts" in message


def test_failure_after_copy_leaves_previous_partition_intact(warehouse: LoadedWarehouse) -> None:
    settings = warehouse.settings
    day = warehouse.window.end - timedelta(days=2)
    window = Window(day, day + timedelta(days=1))
    tasks = SOURCE_TABLES_BY_NAME["tasks"]
    query = "select count(*), max(_extracted_at) from raw.tasks where _partition_date = %s"
    with psycopg.connect(settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        before = conn.execute(query, (day,)).fetchone()

    def explode(*_: object) -> dict[str, object]:
        raise RuntimeError("disk full (simulated)")

    with pytest.raises(RuntimeError, match="disk full"):
        extract_table(tasks, settings.app_dsn, settings.warehouse_dsn, window, policy=LoadPolicy(after=(explode,)))  # type: ignore[arg-type]
    with psycopg.connect(settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        assert conn.execute(query, (day,)).fetchone() == before
