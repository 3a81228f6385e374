"""The archive as Dagster sees it (every archived table, the telemetry ones included): assets, skip of hot months, the raw guard, schedule and command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest
from dagster import AssetKey, DagsterInstance, build_schedule_context, materialize

from foundation.settings import today as platform_today
from orchestration.cli.archive import add_commands
from orchestration.defs.archive.assets import archive_assets, archive_monthly_schedule
from orchestration.defs.raw.assets import raw_assets
from orchestration.lib.partitions import monthly_partitions
from orchestration.lib.resources import ArchiveStorage, PostgresResource
from tests.archive.conftest import WARM_SHIFTS
from tests.archive.scratch import ScratchWarehouse, raw_rows
from tests.conftest import LoadedWarehouse
from tests.defs_helpers import domain_defs

pytestmark = pytest.mark.calendar  # which months are warm or cold depends on today


def _asset(key: list[str]):  # type: ignore[no-untyped-def]
    return next(a for a in [*archive_assets, *raw_assets] if a.key == AssetKey(key))


def test_archive_definitions_shape() -> None:
    keys = {key.to_user_string() for a in domain_defs("archive").assets for key in a.keys}  # type: ignore[union-attr]
    assert keys == {f"archive/{name}" for name in ("tasks", "chat_messages", "llm_usage", "agent_actions",
                                                   "signature_metrics", "verifier_metrics", "training_metrics",
                                                   "chat_sessions")}
    for definition in archive_assets:
        assert definition.group_names_by_key[definition.key] == "archive"
        assert definition.partitions_def == monthly_partitions
        assert AssetKey(["raw", definition.key.path[-1]]) in definition.dependency_keys
        assert "retention" in definition.specs_by_key[definition.key].metadata
    assert archive_monthly_schedule.cron_schedule == "0 4 1 * *"


def test_asset_archives_a_month_and_skips_a_hot_one(scratch: ScratchWarehouse, archive_url: str) -> None:
    month = scratch.months("llm_usage", WARM_SHIFTS[1])[0]
    resources = {"warehouse_db": PostgresResource(dsn=scratch.dsn), "archive_storage": ArchiveStorage(url=archive_url)}
    instance = DagsterInstance.ephemeral()

    result = materialize([_asset(["archive", "llm_usage"])], partition_key=month.isoformat(), resources=resources,
                         instance=instance)
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["action"].value == "archived" and metadata["tier"].value == "warm"
    assert metadata["rows"].value > 0 and metadata["bytes"].value > 0
    assert raw_rows(scratch.dsn, "llm_usage", month) == []

    hot = (platform_today().replace(day=1) - timedelta(days=1)).replace(day=1).isoformat()  # newest partition
    skipped = materialize([_asset(["archive", "llm_usage"])], partition_key=hot, resources=resources,
                          instance=instance)
    assert skipped.success and skipped.get_asset_materialization_events() == []
    [observation] = skipped.get_asset_observation_events()
    assert "hot window" in str(observation.asset_observation_data.asset_observation.metadata["skipped"].value)


def test_raw_asset_refuses_to_reextract_an_archived_month(warehouse: LoadedWarehouse, scratch: ScratchWarehouse,
                                                          archive_url: str) -> None:

    month = scratch.months("tasks", WARM_SHIFTS[1])[-1]
    resources = {"warehouse_db": PostgresResource(dsn=scratch.dsn), "archive_storage": ArchiveStorage(url=archive_url)}
    materialize([_asset(["archive", "tasks"])], partition_key=month.isoformat(), resources=resources)

    result = materialize(
        [_asset(["raw", "tasks"])], partition_key=(month + timedelta(days=2)).isoformat(), raise_on_error=False,
        resources={"app_db": PostgresResource(dsn=warehouse.settings.app_dsn),  # type: ignore[arg-type]
                   "warehouse_db": PostgresResource(dsn=scratch.dsn)})
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "overlaps archived month" in failure.to_string()


def test_monthly_schedule_asks_for_the_month_leaving_the_hot_window_and_the_one_turning_cold(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATFORM_TODAY")  # the tick's own day decides
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, 4, tzinfo=UTC))
    requests = list(archive_monthly_schedule(context))  # type: ignore[arg-type]
    assert [(r.partition_key, r.tags["archive/tier"]) for r in requests] == [  # type: ignore[union-attr]
        ("2026-08-01", "warm"), ("2026-05-01", "warm"), ("2024-11-01", "cold")]  # chat_sessions: 180 hot days


def test_command_line_parses_restore_and_list(warehouse: LoadedWarehouse, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="platform")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["archive", "restore", "--table", "tasks", "--month", "2025-01"])
    assert (args.table, args.month, args.func.__name__) == ("tasks", "2025-01", "_cmd_restore")
    with pytest.raises(SystemExit):
        parser.parse_args(["archive", "restore", "--table", "agents", "--month", "2025-01"])
    listing = parser.parse_args(["archive", "list"])
    assert listing.func(listing) == 0
    assert "nothing archived yet" in capsys.readouterr().out
