"""The telemetry tables and chat sessions in the archive: the same guarantees as tasks (verified Parquet
before the rows leave PostgreSQL, an identical restore, DuckDB), with their uuid and jsonb columns intact."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from datamove.archive.archiver import HotMonthError, archive_month, restore_month
from datamove.archive.policy import ARCHIVED_TABLES, next_month
from datamove.archive.query import archive_query
from foundation.catalog import SOURCE_TABLES_BY_NAME
from tests.archive.conftest import WARM_SHIFTS
from tests.archive.scratch import ScratchWarehouse, counted_rows, files_under, raw_rows
from tests.crash import SURVIVED, CrashRunner

# Not re-run on the calendar days: tests/archive/test_archive.py and the schedule tests of
# tests/test_calendar.py (the 180-day window included) hold the tiers to the boundary days.
pytestmark = pytest.mark.usefixtures("scratch")

TELEMETRY = ["agent_actions", "signature_metrics", "verifier_metrics", "training_metrics", "chat_sessions"]


def _fingerprint(dsn: str, table: str, month: date) -> tuple[int, str]:
    """Every column of every row as PostgreSQL renders it (uuid, jsonb, real included)."""
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
        return conn.execute(  # type: ignore[return-value]
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM raw.{table} t "  # noqa: S608
            "WHERE _partition_date >= %s AND _partition_date < %s", (month, next_month(month))).fetchone()


def test_the_telemetry_tables_are_archived() -> None:
    assert set(TELEMETRY) <= set(ARCHIVED_TABLES)
    assert ARCHIVED_TABLES["chat_sessions"].hot_days == 180 and ARCHIVED_TABLES["agent_actions"].hot_days == 90


@pytest.mark.parametrize("table", TELEMETRY)
def test_archive_restore_round_trip_and_query(scratch: ScratchWarehouse, archive_url: str, table: str) -> None:
    month = scratch.months(table, WARM_SHIFTS[1])[0]
    original = _fingerprint(scratch.dsn, table, month)
    source = counted_rows(scratch.dsn, archive_url, table, month)
    assert original[0] > 0

    outcome = archive_month(table, month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert outcome.action == "archived" and outcome.totals.rows == original[0]
    assert raw_rows(scratch.dsn, table, month) == [] and counted_rows(scratch.dsn, archive_url, table, month) == source

    event = SOURCE_TABLES_BY_NAME[table].partition_column
    [row] = archive_query(f"SELECT count(*) AS n FROM {table} WHERE {event} >= TIMESTAMPTZ '{month} 00:00:00+00' "
                          f"AND {event} < TIMESTAMPTZ '{next_month(month)} 00:00:00+00'",
                          scratch.dsn, archive_url).to_pylist()
    assert row["n"] == original[0]

    restore_month(table, month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert _fingerprint(scratch.dsn, table, month) == original
    assert not [f for f in files_under(archive_url) if f"/{table}/" in f]


def test_agent_actions_uuid_and_jsonb_survive_the_archive(scratch: ScratchWarehouse, archive_url: str) -> None:
    month = scratch.months("agent_actions", WARM_SHIFTS[0])[-1]
    archive_month("agent_actions", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    [row] = archive_query("SELECT id, action_id, state_before FROM agent_actions WHERE state_before IS NOT NULL "
                          "ORDER BY id LIMIT 1", scratch.dsn, archive_url).to_pylist()
    assert len(str(row["action_id"])) == 36 and str(row["state_before"]).startswith("{")
    row_id = row["id"]
    restore_month("agent_actions", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    with psycopg.connect(scratch.dsn) as conn:
        found = conn.execute("SELECT count(*) FROM raw.agent_actions WHERE action_id = %s::uuid AND id = %s",
                             (str(row["action_id"]), row_id)).fetchone()
    assert found == (1,)


def test_chat_sessions_stay_hot_for_180_days(scratch: ScratchWarehouse, archive_url: str) -> None:
    month = scratch.months("chat_sessions", WARM_SHIFTS[0])[-1]  # about five months back: warm for tasks
    assert ARCHIVED_TABLES["tasks"].tier(month) == "warm"
    with pytest.raises(HotMonthError, match="180 days"):
        archive_month("chat_sessions", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)


@pytest.mark.parametrize("point", ["archive.published", "archive.committed", "restore.before_commit"])
def test_sigkill_while_archiving_a_telemetry_month(scratch: ScratchWarehouse, archive_url: str,
                                                   crash_runner: CrashRunner, point: str) -> None:
    table, month = "agent_actions", scratch.months("agent_actions", WARM_SHIFTS[1])[-1]
    source = counted_rows(scratch.dsn, archive_url, table, month)
    original = _fingerprint(scratch.dsn, table, month)
    args = {"table": table, "month": month, "warehouse_dsn": scratch.dsn, "archive_url": archive_url}
    kind = "restore" if point.startswith("restore") else "archive"
    if kind == "restore":
        archive_month(**args)

    assert crash_runner.crash_at(kind, point, **args), point

    assert counted_rows(scratch.dsn, archive_url, table, month) == source  # every row counted exactly once
    (restore_month if kind == "restore" else archive_month)(**args)
    if kind == "archive":
        restore_month(**args)
    assert _fingerprint(scratch.dsn, table, month) == original
    SURVIVED["archive"] += 1
