"""Quarantine: idempotent per partition, reconciled with the source, releasable after a fix."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from datamove.extract import LoadPolicy, extract_table
from foundation.catalog import SOURCE_TABLES_BY_NAME, Window
from orchestration.cli.main import main as quarantine_cli
from orchestration.defs.quality.checks import evaluate_suite
from quality.quarantine import quarantine_after_load, release
from quality.rules import RAW_SUITES
from tests.quality.conftest import ScratchStack, one_day


def _counts(stack: ScratchStack, window: Window) -> tuple[int, int, int, int]:
    source = stack.scalar("select count(*) from tasks where created_at >= %s and created_at < %s",
                          window.start, window.end, dsn=stack.app_dsn)
    raw = stack.scalar("select count(*) from raw.tasks where _partition_date >= %s and _partition_date < %s",
                       window.start, window.end)
    quarantined = stack.scalar("select count(*) from quarantine.tasks where _partition_date >= %s "
                               "and _partition_date < %s", window.start, window.end)
    distinct = stack.scalar("select count(distinct id) from quarantine.tasks")
    return int(source), int(raw), int(quarantined), int(distinct)  # type: ignore[arg-type]


def test_rerun_is_idempotent_and_raw_plus_quarantine_equals_source(scratch: ScratchStack) -> None:
    scratch.simulate(0.05)
    scratch.load()
    day = one_day(scratch)
    window = Window(day, day + timedelta(days=1))
    tasks = SOURCE_TABLES_BY_NAME["tasks"]
    first = extract_table(tasks, scratch.app_dsn, scratch.warehouse_dsn, window, policy=LoadPolicy(after=(quarantine_after_load,)))
    before = _counts(scratch, scratch.window)
    second = extract_table(tasks, scratch.app_dsn, scratch.warehouse_dsn, window, policy=LoadPolicy(after=(quarantine_after_load,)))
    after = _counts(scratch, scratch.window)
    assert before == after, "re-running a partition changed raw or quarantine"
    source, raw, quarantined, distinct = after
    assert quarantined > 0 and raw + quarantined == source
    assert distinct == stack_quarantine_rows(scratch), "a row is quarantined twice"
    for result in (first, second):
        assert result.extra["raw_rows_after_quarantine"] + result.extra["quarantined_rows"] == result.source_rows
        assert result.extra["raw_plus_quarantine_reconciled"] is True


def stack_quarantine_rows(stack: ScratchStack) -> int:
    return int(stack.scalar("select count(*) from quarantine.tasks"))  # type: ignore[arg-type]


def test_release_revalidates_then_moves_fixed_rows_back(scratch: ScratchStack) -> None:
    scratch.simulate({"malformed_json": 0.05})
    scratch.load()
    bad = int(scratch.scalar("select count(*) from quarantine.tasks where 'payload_valid_json' = any(_rules)"))  # type: ignore[arg-type]
    raw_before = int(scratch.scalar("select count(*) from raw.tasks"))  # type: ignore[arg-type]
    assert bad > 0
    with psycopg.connect(scratch.warehouse_dsn) as conn:
        still_bad = release(conn, "tasks", rule="payload_valid_json")
    assert still_bad.released == 0 and still_bad.still_failing == {"payload_valid_json": bad}

    # the fix: repair the payloads in place (in the shape the app writes), then release through the command line
    some_id = scratch.scalar("select min(id) from quarantine.tasks")
    with psycopg.connect(scratch.warehouse_dsn) as conn:
        conn.execute("""update quarantine.tasks set payload = '{"channel": "web", "items": 1, "priority": "low"}'""")
    assert quarantine_cli(["quarantine", "release", "--table", "tasks", "--ids", str(some_id),
                           "--dsn", scratch.warehouse_dsn]) == 0
    assert scratch.scalar("select count(*) from raw.tasks where id = %s", some_id) == 1
    with psycopg.connect(scratch.warehouse_dsn) as conn:
        rest = release(conn, "tasks", rule="payload_valid_json")
    assert rest.released == bad - 1 and not rest.still_failing
    assert scratch.scalar("select count(*) from quarantine.tasks") == 0
    assert scratch.scalar("select count(*) from raw.tasks") == raw_before + bad
    suite = RAW_SUITES["tasks"]
    checks = {r.check_name: r for r in evaluate_suite(suite, scratch.warehouse_dsn, None, scratch.window.start,
                                                      scratch.window.end, {"payload_valid_json"}, None)}
    assert checks["payload_valid_json"].passed
    assert quarantine_cli(["quarantine", "list", "--dsn", scratch.warehouse_dsn]) == 0
