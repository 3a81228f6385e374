"""Housekeeping as Dagster runs it: the assets' counts and rules in their metadata, the jobs, the daily
schedule, the sensor that cleans up after a failed request, and `platform provision-in-use`."""

from __future__ import annotations

import argparse

import pytest
from dagster import AssetKey, DagsterInstance, RunRequest, SkipReason, build_sensor_context, materialize

from orchestration.cli.provisioning import add_commands
from orchestration.defs.housekeeping.assets import orphans, provisioning_cleanup
from orchestration.defs.housekeeping.jobs import (
    failed_provisioning_cleanup_sensor,
    housekeeping_daily_schedule,
    housekeeping_job,
    provisioning_cleanup_job,
)
from orchestration.lib.resources import BigQueryResource, PostgresResource
from tests.defs_helpers import domain_defs
from tests.housekeeping.conftest import Demos
from tests.housekeeping.orphan_scene import make_orphan_scene


def test_housekeeping_definitions_shape() -> None:
    defs = domain_defs("housekeeping")
    keys = {key.to_user_string() for a in defs.assets for key in a.keys}  # type: ignore[union-attr]
    assert keys == {"housekeeping/provisioning_cleanup", "housekeeping/orphans"}
    assert AssetKey(["housekeeping", "provisioning_cleanup"]) in orphans.dependency_keys
    assert {housekeeping_job.name, provisioning_cleanup_job.name} == {"housekeeping_job", "provisioning_cleanup_job"}
    assert housekeeping_daily_schedule.cron_schedule == "30 5 * * *"
    for definition in (provisioning_cleanup, orphans):
        assert "retention" in definition.specs_by_key[definition.key].metadata


def test_assets_remove_what_is_due_and_say_how_many_and_which_kinds(demos: Demos,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_orphan_scene(demos)
    failed, *_ = demos.make_scenario()
    resources = {"app_db": PostgresResource(dsn=demos.app_dsn),
                 "bigquery": BigQueryResource(project=demos.bq.project, location=demos.bq.location,
                                              api_endpoint=demos.bq.endpoint)}
    # the test's own generated-files folder, not the session's PLATFORM_HOME/provisioning
    monkeypatch.setattr("orchestration.defs.housekeeping.assets.provisioning_work_dir", lambda: demos.work_dir)
    result = materialize([provisioning_cleanup, orphans], resources=resources, instance=DagsterInstance.ephemeral())

    events = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    cleanup, swept = events["housekeeping/provisioning_cleanup"], events["housekeeping/orphans"]
    assert cleanup["bigquery_datasets"].value >= 2 and cleanup["data_agents"].value >= 2
    assert cleanup["checkpoint_threads"].value >= 1 and cleanup["kept_in_use"].value >= 1
    assert failed.dataset in cleanup["removed"].value["datasets"]  # type: ignore[index,operator]
    assert "failed_demos" in str(cleanup["retention"].value)
    assert swept["orphan_embeddings"].value == len(scene.orphan_embeddings)
    assert swept["generated_files"].value == len(scene.expired)
    assert swept["kinds"].value == ["embeddings:chat_sessions", "embeddings:data_agents",
                                    "embeddings:provisioning_requests", "generated_files"]
    demos.assert_nothing_due_is_left()


def test_sensor_launches_the_cleanup_after_a_failed_request(demos: Demos) -> None:
    resources = {"app_db": PostgresResource(dsn=demos.app_dsn)}
    with build_sensor_context(resources=resources) as context:
        assert isinstance(failed_provisioning_cleanup_sensor(context), SkipReason)  # nothing failed yet
        demo = demos.make("failed", 0)
        request = failed_provisioning_cleanup_sensor(context)
        assert isinstance(request, RunRequest) and request.run_key == f"provisioning-cleanup-{demo.request_id}"
        skipped = failed_provisioning_cleanup_sensor(context)  # the same failure: no second run
        assert isinstance(skipped, SkipReason) and "already had a clean-up run" in str(skipped.skip_message)


def test_provision_in_use_command_line() -> None:
    parser = argparse.ArgumentParser(prog="platform")
    add_commands(parser.add_subparsers(dest="command", required=True))
    flag = parser.parse_args(["provision-in-use", "12"])
    release = parser.parse_args(["provision-in-use", "12", "--release"])
    assert (flag.request_id, flag.release, release.release) == (12, False, True)
    assert flag.func.__name__ == "_cmd_in_use"
