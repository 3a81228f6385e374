"""The retention policy is one table, and the README shows that table."""

from __future__ import annotations

from datamove.archive.policy import ARCHIVED_TABLES
from foundation.retention import POLICY, markdown_table
from foundation.settings import REPO_ROOT


def test_readme_shows_the_policy_table() -> None:
    assert markdown_table() in (REPO_ROOT / "README.md").read_text()


def test_the_archive_and_the_clean_ups_read_their_days_from_the_policy() -> None:
    assert ARCHIVED_TABLES["chat_sessions"].hot_days == POLICY["chat_sessions"].keep_days == 180
    assert {t.hot_days for n, t in ARCHIVED_TABLES.items() if n != "chat_sessions"} == {POLICY["raw_facts"].keep_days}
    assert (POLICY["failed_demos"].keep_days, POLICY["succeeded_demos"].keep_days, POLICY["checkpoints"].keep_days,
            POLICY["orphan_embeddings"].keep_days, POLICY["generated_files"].keep_days) == (0, 30, 14, 0, 1)
