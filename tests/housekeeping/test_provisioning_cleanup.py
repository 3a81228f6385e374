"""The provisioning clean-up against the real emulator and PostgreSQL: what the policy removes, what it keeps,
what it records, and how it behaves on bad input (a dataset already gone, BigQuery failing mid-way)."""

from __future__ import annotations

import psycopg
import pytest

from agents.provisioning.cleanup import CleanupError, clean_up_provisioning
from agents.provisioning.requests import set_in_use
from datamove.bigquery import make_client
from tests.housekeeping.conftest import Demos
from tests.provisioning.conftest import closed_port_url


def test_due_demos_go_kept_ones_stay_and_each_deletion_is_recorded(demos: Demos) -> None:
    failed, cancelled, old, in_use, recent, running = demos.make_scenario()

    report = clean_up_provisioning(demos.app_dsn, demos.client)

    demos.assert_nothing_kept_was_deleted()
    demos.assert_nothing_due_is_left()
    assert {failed.dataset, old.dataset} <= set(report.datasets)
    assert f"{demos.bq.project}.demo_{cancelled.request_id}" in report.already_gone  # never built: counts as gone
    assert in_use.request_id in report.kept_in_use
    assert str(failed.request_id) in report.checkpoint_threads and str(recent.request_id) not in report.checkpoint_threads
    with psycopg.connect(demos.app_dsn) as conn:
        rows = conn.execute("SELECT kind, state, reason, deleted_at IS NOT NULL FROM housekeeping_deletions "
                            "WHERE request_id = %s ORDER BY id", (old.request_id,)).fetchall()
    assert [(k, s) for k, s, _, _ in rows] == [("bigquery_dataset", "done"), ("data_agent", "done"),
                                              ("checkpoints", "done")]
    assert all("succeeded_demos" in reason and stamped for _, _, reason, stamped in rows[:2])

    again = clean_up_provisioning(demos.app_dsn, demos.client)  # idempotent: nothing more to do
    assert again.datasets == again.already_gone == again.demos == again.checkpoint_threads == []
    demos.assert_nothing_due_is_left()

    set_in_use(demos.app_dsn, in_use.request_id, False)  # released: the policy applies again
    released = clean_up_provisioning(demos.app_dsn, demos.client)
    assert released.datasets == [in_use.dataset] and not demos.dataset_exists(in_use.dataset)  # type: ignore[arg-type]
    assert running.request_id not in released.demos


def test_a_dataset_already_gone_counts_as_deleted(demos: Demos) -> None:
    demo = demos.make("failed", 1)
    demos.client.delete_dataset(demo.dataset, delete_contents=True)  # removed by hand before the clean-up

    report = clean_up_provisioning(demos.app_dsn, demos.client)

    assert demo.dataset in report.already_gone and demo.request_id in report.demos
    demos.assert_nothing_due_is_left()


def test_bigquery_failing_mid_way_leaves_the_rest_for_the_next_run(demos: Demos) -> None:
    first, second = demos.make("failed", 1), demos.make("succeeded", 40)
    unreachable = make_client(demos.bq.project, demos.bq.location, closed_port_url().rstrip("/"))

    with pytest.raises(CleanupError, match="intent stays open"):
        clean_up_provisioning(demos.app_dsn, unreachable, bigquery_deadline=2.0)

    demos.assert_nothing_kept_was_deleted()
    assert demos.dataset_exists(first.dataset) and demos.dataset_exists(second.dataset)  # type: ignore[arg-type]
    assert demos.open_intents() == 1  # recorded before the delete that failed
    report = clean_up_provisioning(demos.app_dsn, demos.client)
    assert report.resumed_intents == 1 and {first.dataset, second.dataset} <= set(report.datasets)
    demos.assert_nothing_due_is_left()


def test_a_demo_flagged_in_use_while_its_intent_is_open_is_kept(demos: Demos) -> None:
    demo = demos.make("succeeded", 40)
    unreachable = make_client(demos.bq.project, demos.bq.location, closed_port_url().rstrip("/"))
    with pytest.raises(CleanupError):
        clean_up_provisioning(demos.app_dsn, unreachable, bigquery_deadline=2.0)
    set_in_use(demos.app_dsn, demo.request_id)  # someone starts using it before the next run
    demo.due = False

    report = clean_up_provisioning(demos.app_dsn, demos.client)

    assert report.cancelled_intents and demo.request_id in report.kept_in_use
    demos.assert_nothing_kept_was_deleted()
    assert demos.open_intents() == 0
