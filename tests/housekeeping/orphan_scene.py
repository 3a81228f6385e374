"""A scene of orphans and live things: embeddings of sources that exist or not, request folders old and new."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg

from foundation.settings import now as platform_now
from tests.housekeeping.conftest import Demos


@dataclass
class OrphanScene:
    live_embeddings: list[int] = field(default_factory=list)
    orphan_embeddings: list[int] = field(default_factory=list)
    expired: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def _embedding(conn: psycopg.Connection, source_type: str, source_path: str) -> int:
    row = conn.execute(
        "INSERT INTO code_embeddings (id, source_type, source_path, chunk_start, chunk_end, embedding, metadata, "
        "created_at) SELECT coalesce(max(id), 0) + 1, %s, %s, 0, 10, array_fill(0.25, ARRAY[16])::vector, "
        "'{}'::jsonb, now() FROM code_embeddings RETURNING id", (source_type, source_path)).fetchone()
    assert row is not None
    return int(row[0])


def _folder(root: Path, name: str, age_days: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "orders.parquet"
    data.write_bytes(b"PAR1" + b"\0" * 2048)
    stamp = (platform_now() - timedelta(days=age_days)).timestamp()
    for path in (data, folder):
        os.utime(path, (stamp, stamp))
    return folder


def make_orphan_scene(demos: Demos) -> OrphanScene:
    scene = OrphanScene()
    removed = demos.make("failed", 2, dataset=False, agent=False, checkpoint=False)
    with psycopg.connect(demos.app_dsn) as conn:
        conn.execute("UPDATE provisioning_requests SET demo_removed_at = now() WHERE id = %s", (removed.request_id,))
    removed.due = False  # already removed: the scene is about its embeddings
    live = demos.make("succeeded", 2, dataset=False, checkpoint=False)
    running = demos.make("running", 0, dataset=False, agent=False, checkpoint=False)
    with psycopg.connect(demos.app_dsn) as conn:
        session = conn.execute("SELECT min(id) FROM chat_sessions").fetchone()[0]  # type: ignore[index]
        agent = conn.execute("SELECT id FROM data_agents WHERE request_id = %s", (live.request_id,)).fetchone()[0]  # type: ignore[index]
        scene.live_embeddings = [
            _embedding(conn, "context", f"chat_sessions/{session}"),
            _embedding(conn, "context", f"provisioning_requests/{live.request_id}"),
            _embedding(conn, "context", f"data_agents/{agent}"),
            _embedding(conn, "code", "src/module_3.py"),  # not a source the platform holds: never judged
        ]
        scene.orphan_embeddings = [
            _embedding(conn, "context", "chat_sessions/987654321"),
            _embedding(conn, "context", f"provisioning_requests/{removed.request_id}"),
            _embedding(conn, "context", "data_agents/987654321"),
        ]
    scene.expired = [_folder(demos.work_dir, str(live.request_id), 3), _folder(demos.work_dir, "scratch-7", 2)]
    scene.kept = [_folder(demos.work_dir, str(removed.request_id), 0.2),  # younger than the TTL
                  _folder(demos.work_dir, str(running.request_id), 5)]  # its request still runs
    return scene


def existing_embeddings(dsn: str, ids: list[int]) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return sorted(r[0] for r in conn.execute("SELECT id FROM code_embeddings WHERE id = ANY(%s)", (ids,)))


def assert_nothing_kept_was_deleted(demos: Demos, scene: OrphanScene) -> None:
    assert existing_embeddings(demos.app_dsn, scene.live_embeddings) == sorted(scene.live_embeddings)
    assert all(folder.is_dir() for folder in scene.kept)


def assert_nothing_due_is_left(demos: Demos, scene: OrphanScene) -> None:
    assert existing_embeddings(demos.app_dsn, scene.orphan_embeddings) == []
    assert not any(folder.exists() for folder in scene.expired)
    assert demos.open_intents() == 0
