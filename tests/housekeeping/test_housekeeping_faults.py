"""SIGKILL between every step of the provisioning clean-up and of the orphan sweep.

After each kill nothing the policy keeps has been deleted; after the re-run nothing that is due is left,
each dataset deletion is recorded exactly once and no intent stays open.
"""

from __future__ import annotations

import pytest

from agents.provisioning.cleanup import clean_up_provisioning
from datamove.housekeeping.orphans import sweep_orphans
from tests.crash import SURVIVED, CrashRunner
from tests.housekeeping import orphan_scene
from tests.housekeeping.conftest import Demos

CLEANUP_POINTS = ["housekeeping.intent_recorded", "housekeeping.dataset_deleted", "housekeeping.dataset_recorded",
                  "housekeeping.before_commit", "housekeeping.demo_removed", "housekeeping.checkpoints_pruned",
                  "housekeeping.dataset_deleted:2"]
ORPHAN_POINTS = ["orphans.before_commit", "orphans.embeddings_removed", "orphans.intent_recorded",
                 "orphans.folder_removed"]


@pytest.mark.parametrize("point", CLEANUP_POINTS)
def test_sigkill_during_the_provisioning_cleanup(demos: Demos, crash_runner: CrashRunner, point: str) -> None:
    demos.make_scenario()
    args = {"app_dsn": demos.app_dsn, "project": demos.bq.project, "location": demos.bq.location,
            "endpoint": demos.bq.endpoint}

    assert crash_runner.crash_at("provisioning_cleanup", point, **args), point

    demos.assert_nothing_kept_was_deleted()
    clean_up_provisioning(demos.app_dsn, demos.client)  # the next run finishes the job
    demos.assert_nothing_kept_was_deleted()
    demos.assert_nothing_due_is_left()
    SURVIVED["housekeeping"] += 1


@pytest.mark.parametrize("point", ORPHAN_POINTS)
def test_sigkill_during_the_orphan_sweep(demos: Demos, crash_runner: CrashRunner, point: str) -> None:
    scene = orphan_scene.make_orphan_scene(demos)

    assert crash_runner.crash_at("orphans", point, app_dsn=demos.app_dsn, work_dir=demos.work_dir), point

    orphan_scene.assert_nothing_kept_was_deleted(demos, scene)
    sweep_orphans(demos.app_dsn, demos.work_dir)
    orphan_scene.assert_nothing_kept_was_deleted(demos, scene)
    orphan_scene.assert_nothing_due_is_left(demos, scene)
    SURVIVED["housekeeping"] += 1
