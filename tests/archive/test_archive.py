"""Archiving raw months to Parquet and back, against the real PostgreSQL and real files."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datamove.archive import archiver
from datamove.archive.archiver import (
    HotMonthError,
    VerificationError,
    archive_month,
    list_archives,
    restore_month,
)
from datamove.archive.guards import (
    ArchivedWindowError,
    refuse_archived_window,
    refuse_archived_window_in_transaction,
)
from datamove.archive.policy import next_month, tier_for
from datamove.archive.query import archive_query
from foundation.catalog import SOURCE_TABLES_BY_NAME, Window
from foundation.settings import today as platform_today
from tests.archive.conftest import COLD_SHIFT, WARM_SHIFTS
from tests.archive.scratch import ScratchWarehouse, counted_rows, files_under, raw_rows

pytestmark = [pytest.mark.usefixtures("scratch"),
              pytest.mark.calendar]  # which months are warm or cold depends on today


def _fingerprint(dsn: str, table: str, month: date) -> tuple[int, str]:
    """Every column of every row, as PostgreSQL renders it: identical rows, identical fingerprint."""
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
        return conn.execute(  # type: ignore[return-value]
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM raw.{table} t "
            "WHERE _partition_date >= %s AND _partition_date < %s", (month, next_month(month))).fetchone()


def _flip_temp_file(directory: Path, truncate: bool) -> None:
    for temp in directory.glob(".*.tmp-*"):
        data = bytearray(temp.read_bytes())
        if truncate:
            temp.write_bytes(bytes(data[: len(data) // 2]))
        else:
            data[len(data) // 3] ^= 0xFF
            temp.write_bytes(bytes(data))


def test_archive_moves_a_warm_month_to_verified_typed_parquet_once(scratch: ScratchWarehouse,
                                                                    archive_url: str) -> None:
    month = scratch.months("tasks", WARM_SHIFTS[0])[0]
    before = counted_rows(scratch.dsn, archive_url, "tasks", month)
    assert before and tier_for(month) == "warm"

    outcome = archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)

    assert outcome.action == "archived" and outcome.tier == "warm" and outcome.totals.rows == len(before)
    assert raw_rows(scratch.dsn, "tasks", month) == []
    assert counted_rows(scratch.dsn, archive_url, "tasks", month) == before
    folder = f"warm/tasks/year={month.year}/month={month.month:02d}"
    assert files_under(archive_url) == [f"{folder}/_manifest.json", f"{folder}/tasks-{month:%Y-%m}.parquet"]
    parquet = pq.ParquetFile(Path(archive_url) / folder / f"tasks-{month:%Y-%m}.parquet")
    schema = parquet.schema_arrow
    assert schema.field("revenue").type == pa.decimal128(12, 2)
    assert schema.field("rating").type == pa.decimal128(3, 2)
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("agent_id").type == pa.int32()
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    sidecar = json.loads((Path(archive_url) / folder / "_manifest.json").read_text())
    assert sidecar["state"] == "archived" and sidecar["rows"] == len(before)
    assert sidecar["files"][0]["path"] == f"{folder}/tasks-{month:%Y-%m}.parquet"

    again = archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert again.action == "already_archived" and again.totals == outcome.totals
    assert counted_rows(scratch.dsn, archive_url, "tasks", month) == before

    # DuckDB over the manifest's files sees exactly the archived rows, typed.
    result = archive_query(
        f"SELECT count(*) AS n, sum(revenue) AS revenue, typeof(sum(revenue)) AS t FROM tasks "
        f"WHERE created_at >= TIMESTAMPTZ '{month} 00:00:00+00'", scratch.dsn, archive_url).to_pylist()[0]
    assert result["n"] == len(before) and result["t"].startswith("DECIMAL")
    assert [e.state for e in list_archives(scratch.dsn, "tasks")] == ["archived"]


def test_a_month_in_the_hot_window_is_refused(scratch: ScratchWarehouse, archive_url: str) -> None:
    month = platform_today().replace(day=1)
    with pytest.raises(HotMonthError, match="hot window"):
        archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert files_under(archive_url) == []


def test_restore_round_trip_gives_back_identical_rows(scratch: ScratchWarehouse, archive_url: str) -> None:
    month = scratch.months("chat_messages", WARM_SHIFTS[1])[-1]
    original = _fingerprint(scratch.dsn, "chat_messages", month)
    assert original[0] > 0
    archive_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert _fingerprint(scratch.dsn, "chat_messages", month)[0] == 0

    restored = restore_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)

    assert restored.action == "restored"
    assert _fingerprint(scratch.dsn, "chat_messages", month) == original
    assert files_under(archive_url) == []  # the files go once the rows are back
    again = restore_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert again.action == "already_restored"
    assert _fingerprint(scratch.dsn, "chat_messages", month) == original
    # archived again after a restore: the same file, the same rows
    archive_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    restore_month("chat_messages", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert _fingerprint(scratch.dsn, "chat_messages", month) == original


def test_old_months_go_cold_and_warm_months_move_to_cold_at_two_years(scratch: ScratchWarehouse,
                                                                       archive_url: str) -> None:
    cold_month = scratch.months("llm_usage", COLD_SHIFT)[0]
    warm_month = scratch.months("llm_usage", WARM_SHIFTS[0])[-1]
    cold_rows = counted_rows(scratch.dsn, archive_url, "llm_usage", cold_month)
    warm_rows = counted_rows(scratch.dsn, archive_url, "llm_usage", warm_month)

    direct = archive_month("llm_usage", cold_month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert direct.tier == "cold" and "/cold/llm_usage/" in direct.files[0]
    assert archive_month("llm_usage", warm_month, warehouse_dsn=scratch.dsn, archive_url=archive_url).tier == "warm"

    two_years_later = next_month(warm_month) + timedelta(days=731)
    moved = archive_month("llm_usage", warm_month, warehouse_dsn=scratch.dsn, archive_url=archive_url,
                          today=two_years_later)

    assert moved.action == "moved_to_cold" and moved.tier == "cold"
    assert not any(f.startswith("warm/llm_usage") for f in files_under(archive_url))
    assert counted_rows(scratch.dsn, archive_url, "llm_usage", warm_month) == warm_rows
    assert counted_rows(scratch.dsn, archive_url, "llm_usage", cold_month) == cold_rows


@pytest.mark.parametrize("truncate", [True, False], ids=["truncated", "corrupt"])
def test_a_damaged_file_is_caught_by_the_read_back_and_nothing_is_deleted(
        scratch: ScratchWarehouse, archive_url: str, truncate: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    month = scratch.months("tasks", WARM_SHIFTS[1])[0]
    before = _fingerprint(scratch.dsn, "tasks", month)
    folder = Path(archive_url) / f"warm/tasks/year={month.year}/month={month.month:02d}"

    def damage(name: str) -> None:  # between writing the temporary file and reading it back
        if name == "archive.written":
            _flip_temp_file(folder, truncate)

    monkeypatch.setattr(archiver, "fault_point", damage)
    with pytest.raises(VerificationError, match="cannot be read back|holds"):
        archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)

    assert _fingerprint(scratch.dsn, "tasks", month) == before
    assert files_under(archive_url) == []
    assert not [e for e in list_archives(scratch.dsn, "tasks") if e.month == month and e.state == "archived"]


def test_a_damaged_archive_is_never_moved_or_restored_over(scratch: ScratchWarehouse, archive_url: str) -> None:
    month = scratch.months("tasks", WARM_SHIFTS[1])[-1]
    rows = counted_rows(scratch.dsn, archive_url, "tasks", month)
    outcome = archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    path = Path(outcome.files[0])
    path.write_bytes(path.read_bytes()[:-100])  # truncated at rest (a bad disk, a partial copy)

    with pytest.raises(VerificationError):
        restore_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    assert raw_rows(scratch.dsn, "tasks", month) == []  # no partial restore
    with pytest.raises(VerificationError):
        archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url,
                      today=next_month(month) + timedelta(days=800))
    [entry] = [e for e in list_archives(scratch.dsn, "tasks") if e.month == month]
    assert entry.tier == "warm" and entry.state == "archived" and entry.totals.rows == len(rows)


def test_guards_refuse_to_extract_an_archived_month_until_it_is_restored(scratch: ScratchWarehouse,
                                                                         archive_url: str) -> None:
    tasks = SOURCE_TABLES_BY_NAME["tasks"]
    month = scratch.months("tasks", WARM_SHIFTS[0])[-1]
    window = Window(month + timedelta(days=3), month + timedelta(days=5))
    archive_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)

    with pytest.raises(ArchivedWindowError, match="platform archive restore --table tasks"):
        refuse_archived_window(scratch.dsn, tasks, window)
    with psycopg.connect(scratch.dsn) as conn, pytest.raises(ArchivedWindowError):
        refuse_archived_window_in_transaction(conn, tasks, window)
    refuse_archived_window(scratch.dsn, tasks, Window(next_month(month), next_month(month) + timedelta(days=1)))
    refuse_archived_window(scratch.dsn, SOURCE_TABLES_BY_NAME["trials"], window)  # not an archived table

    restore_month("tasks", month, warehouse_dsn=scratch.dsn, archive_url=archive_url)
    refuse_archived_window(scratch.dsn, tasks, window)  # restored: extraction may replace it again
