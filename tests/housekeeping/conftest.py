"""Housekeeping fixtures: one simulated app database (chat sessions, embeddings) for the module's demos,
the session's BigQuery emulator, and a ``Demos`` helper that builds demos in every state the policy knows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery
from psycopg.types.json import Jsonb

from agents.provisioning.graph import postgres_checkpointer
from foundation.settings import now as platform_now
from tests.bigquery_fixtures import BigQueryEmulator
from tests.simulations import CLEAN_3_DAYS, Simulations


@dataclass
class Demo:
    request_id: int
    status: str
    dataset: str | None  # project.demo_<id>
    due: bool  # the policy removes its demo now
    checkpoint: bool
    checkpoint_due: bool


@dataclass
class Demos:
    """Provisioning requests with their BigQuery dataset, data agent and checkpoints, in known states."""

    app_dsn: str
    bq: BigQueryEmulator
    work_dir: Path
    made: list[Demo] = field(default_factory=list)

    @property
    def client(self) -> bigquery.Client:
        return self.bq.client()

    def make(self, status: str, finished_days_ago: float, *, in_use: bool = False, dataset: bool = True,
             agent: bool = True, checkpoint: bool = True) -> Demo:
        now = platform_now()
        finished = now - timedelta(days=finished_days_ago) if status in ("succeeded", "failed", "cancelled") else None
        with psycopg.connect(self.app_dsn, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO provisioning_requests (customer_url, requested_by, status, in_use, created_at, "
                "started_at, finished_at) VALUES ('https://shop.example/', 'tests', %s, %s, %s, %s, %s) RETURNING id",
                (status, in_use, (finished or now) - timedelta(hours=1), (finished or now) - timedelta(hours=1),
                 finished)).fetchone()
            assert row is not None
            request_id = int(row[0])
            dataset_id = f"{self.bq.project}.demo_{request_id}"
            if agent:
                conn.execute("INSERT INTO data_agents (request_id, dataset, display_name, instructions, golden_queries)"
                             " VALUES (%s, %s, 'Demo analyst', 'Answer with numbers first.', %s)",
                             (request_id, dataset_id, Jsonb([])))
        if dataset:
            client = self.client
            client.create_dataset(bigquery.Dataset(dataset_id), exists_ok=True)
            client.create_table(bigquery.Table(f"{dataset_id}.orders", schema=[
                bigquery.SchemaField("order_id", "INT64"), bigquery.SchemaField("amount", "NUMERIC")]),
                exists_ok=True)
        if checkpoint:
            self.checkpoint(request_id)
        final = status in ("succeeded", "failed", "cancelled")
        due = not in_use and (status in ("failed", "cancelled") or (status == "succeeded" and finished_days_ago > 30))
        demo = Demo(request_id, status, dataset_id if dataset else None, due, checkpoint,
                    checkpoint_due=checkpoint and final and finished_days_ago > 14)
        self.made.append(demo)
        return demo

    def checkpoint(self, request_id: int) -> None:
        """A real LangGraph checkpoint of the request's thread (what the graph writes after a node)."""
        from langgraph.checkpoint.base import empty_checkpoint

        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"request_id": request_id, "status": "done"}
        checkpoint["channel_versions"] = {"request_id": 1, "status": 1}
        with postgres_checkpointer(self.app_dsn) as saver:
            saver.put({"configurable": {"thread_id": str(request_id), "checkpoint_ns": ""}}, checkpoint,
                      {"source": "loop", "step": 5, "parents": {}}, {"request_id": 1, "status": 1})

    # -- what is there -------------------------------------------------------------------

    def dataset_exists(self, dataset: str) -> bool:
        try:
            self.client.get_dataset(dataset)
        except google_exceptions.NotFound:
            return False
        return True

    def row(self, request_id: int) -> tuple[bool, bool, int]:
        """(data agent exists, demo_removed_at set, checkpoint rows)"""
        with psycopg.connect(self.app_dsn) as conn:
            agent = conn.execute("SELECT count(*) FROM data_agents WHERE request_id = %s", (request_id,)).fetchone()
            removed = conn.execute("SELECT demo_removed_at IS NOT NULL FROM provisioning_requests WHERE id = %s",
                                   (request_id,)).fetchone()
            checkpoints = conn.execute("SELECT count(*) FROM langgraph.checkpoints WHERE thread_id = %s",
                                       (str(request_id),)).fetchone()
        assert agent and removed and checkpoints
        return bool(agent[0]), bool(removed[0]), int(checkpoints[0])

    def ledger(self, request_id: int) -> list[tuple[str, str, str]]:
        with psycopg.connect(self.app_dsn) as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                "SELECT kind, target, state FROM housekeeping_deletions WHERE request_id = %s ORDER BY id",
                (request_id,)).fetchall()]

    def open_intents(self) -> int:
        with psycopg.connect(self.app_dsn) as conn:
            row = conn.execute("SELECT count(*) FROM housekeeping_deletions WHERE state = 'intent'").fetchone()
        return int(row[0]) if row else 0

    # -- the two promises ----------------------------------------------------------------

    def assert_nothing_kept_was_deleted(self) -> None:
        for demo in self.made:
            if demo.due:
                continue
            has_agent, removed, _ = self.row(demo.request_id)
            assert not removed and has_agent, demo
            assert demo.dataset is None or self.dataset_exists(demo.dataset), demo
            if demo.checkpoint and not demo.checkpoint_due:
                assert self.row(demo.request_id)[2] > 0, demo

    def assert_nothing_due_is_left(self) -> None:
        for demo in self.made:
            has_agent, removed, checkpoints = self.row(demo.request_id)
            if demo.due:
                assert removed and not has_agent, demo
                assert demo.dataset is None or not self.dataset_exists(demo.dataset), demo
                done = [t for kind, t, state in self.ledger(demo.request_id)
                        if kind == "bigquery_dataset" and state == "done"]
                assert done == [f"{self.bq.project}.demo_{demo.request_id}"], demo  # recorded once
            if demo.checkpoint_due:
                assert checkpoints == 0, demo
        assert self.open_intents() == 0

    def make_scenario(self) -> list[Demo]:
        """One demo of each kind the policy knows."""
        return [
            self.make("failed", 20),  # due at once (and its checkpoints are 20 days old)
            self.make("cancelled", 0.1, dataset=False, agent=False),  # nothing ever built
            self.make("succeeded", 45),  # past the 30 days
            self.make("succeeded", 45, in_use=True),  # flagged: kept
            self.make("succeeded", 3),  # recent: kept, checkpoints kept
            self.make("running", 0),  # in flight: never touched
        ]


@pytest.fixture(scope="module")
def hk_app(simulations: Simulations, request: pytest.FixtureRequest) -> str:
    """A copy of a small simulated app database (migrated: housekeeping_deletions, in_use), one per module
    under its own name (the checkpointer sets its tables up once per DSN and process)."""
    return simulations.copy(CLEAN_3_DAYS, f"hk_{request.module.__name__.rsplit('.', 1)[-1]}").app_dsn


@pytest.fixture()
def demos(hk_app: str, bigquery: BigQueryEmulator, tmp_path: Path) -> Iterator[Demos]:
    made = Demos(hk_app, bigquery, tmp_path / "provisioning")
    yield made
    # the emulator is the session's: a kept demo_<id> would stand for another module's request <id>
    client = made.client
    for demo in made.made:
        if demo.dataset:
            client.delete_dataset(demo.dataset, delete_contents=True, not_found_ok=True)
