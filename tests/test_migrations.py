"""Every migration applies and reverts cleanly on the real embedded PostgreSQL."""

import psycopg
import pytest

from orchestration.db.migrate import current_revision, downgrade, upgrade


@pytest.fixture
def scratch_dsn(scratch_database) -> str:  # type: ignore[no-untyped-def]
    return scratch_database("migrations_scratch")


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {t for (t,) in conn.execute("select tablename from pg_tables where schemaname = 'public'")}


def _unindexed_foreign_keys(dsn: str) -> list[str]:
    query = """
        select c.conrelid::regclass || '.' || a.attname
        from pg_constraint c
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
        where c.contype = 'f'
          and not exists (
              select 1 from pg_index i
              where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1]
          )
    """
    with psycopg.connect(dsn) as conn:
        return [r for (r,) in conn.execute(query)]


def test_upgrade_downgrade_upgrade(scratch_dsn: str) -> None:
    upgrade(scratch_dsn)
    tables = _tables(scratch_dsn)
    for expected in ("tasks", "agents", "chat_messages", "llm_usage", "agent_actions", "code_embeddings",
                     "issues", "pull_requests", "provisioning_requests", "ai_learning_memory",
                     "housekeeping_deletions"):
        assert expected in tables
    assert current_revision(scratch_dsn) == "0006"
    assert _unindexed_foreign_keys(scratch_dsn) == []

    for revision in ("0005", "0004", "0003", "0002", "0001"):
        downgrade(scratch_dsn, revision)
        assert current_revision(scratch_dsn) == revision
    downgrade(scratch_dsn, "base")
    assert _tables(scratch_dsn) <= {"alembic_version"}

    upgrade(scratch_dsn)
    assert current_revision(scratch_dsn) == "0006"
