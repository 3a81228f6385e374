"""Orphans: embeddings whose source is gone and generated files past their TTL, on the real PostgreSQL."""

from __future__ import annotations

import psycopg

from datamove.housekeeping.orphans import orphan_embeddings, report_metadata, sweep_orphans
from tests.housekeeping.conftest import Demos
from tests.housekeeping.orphan_scene import (
    assert_nothing_due_is_left,
    assert_nothing_kept_was_deleted,
    make_orphan_scene,
)


def test_orphans_are_removed_live_sources_and_young_or_running_files_are_kept(demos: Demos) -> None:
    scene = make_orphan_scene(demos)
    before = orphan_embeddings(demos.app_dsn)
    assert sum(before.values()) >= 3 and set(before) == {"chat_sessions", "provisioning_requests", "data_agents"}

    report = sweep_orphans(demos.app_dsn, demos.work_dir)

    assert_nothing_kept_was_deleted(demos, scene)
    assert_nothing_due_is_left(demos, scene)
    metadata = report_metadata(report)
    assert metadata["orphan_embeddings"] == sum(before.values()) and metadata["generated_files"] == 2
    assert metadata["kinds"] == ["embeddings:chat_sessions", "embeddings:data_agents",
                                 "embeddings:provisioning_requests", "generated_files"]
    assert str(scene.kept[1]) in report.kept_active
    with psycopg.connect(demos.app_dsn) as conn:
        recorded = conn.execute("SELECT kind, sum(items) FROM housekeeping_deletions WHERE kind IN "
                                "('embeddings', 'generated_files') AND state = 'done' GROUP BY kind").fetchall()
    assert dict(recorded) == {"embeddings": sum(before.values()), "generated_files": 2}

    again = sweep_orphans(demos.app_dsn, demos.work_dir)
    assert again.counts() == {"orphan_embeddings": 0, "generated_files": 0, "generated_bytes": 0}
