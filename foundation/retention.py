"""The platform's one retention policy: how long each table or artefact is kept, then what happens.

Every clean-up reads its numbers from here (the archive's hot/warm/cold tiers, the provisioning
clean-up, checkpoint pruning, the orphan sweep); each housekeeping and archive asset shows its
rule in its metadata, and the README's "Retention" table lists the same rows
(``tests/housekeeping/test_retention.py`` keeps the two equal). Days are whole days of the
platform's clock (``foundation.settings.now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Retention:
    """Keep ``what`` for ``keep_days`` (0: not at all), then ``action``; ``then_days``: the next step's age."""

    name: str
    what: str
    keep_days: int
    action: str  # archive | delete
    then: str = ""  # what happens after then_days (the cold tier), if anything
    then_days: int | None = None
    enforced_by: str = ""

    @property
    def keep(self) -> timedelta:
        return timedelta(days=self.keep_days)

    def describe(self) -> str:
        kept = "not kept" if self.keep_days == 0 else f"kept {self.keep_days} d"
        after = f"; {self.then} after {self.then_days} d" if self.then and self.then_days is not None else ""
        return f"{self.what}: {kept}, then {self.action}{after}"

    def as_metadata(self) -> dict[str, object]:
        return {"retention": self.describe(), "retention_keep_days": self.keep_days,
                "retention_action": self.action}


RAW_HOT_DAYS = 90
COLD_DAYS = 730  # two years

POLICIES: tuple[Retention, ...] = (
    Retention("raw_facts", "raw fact tables in PostgreSQL (tasks, chat_messages, llm_usage, agent_actions, "
              "signature_metrics, verifier_metrics, training_metrics)", RAW_HOT_DAYS, "archive to warm Parquet",
              "move to cold Parquet", COLD_DAYS, "archive/<table> (archive_monthly_job)"),
    Retention("chat_sessions", "raw.chat_sessions (sessions stay open for weeks and are joined by later messages)",
              180, "archive to warm Parquet", "move to cold Parquet", COLD_DAYS, "archive/chat_sessions"),
    Retention("succeeded_demos", "BigQuery dataset and data agent of a succeeded provisioning request "
              "(never while the request is flagged in_use)", 30, "delete", enforced_by="housekeeping/provisioning_cleanup"),
    Retention("failed_demos", "BigQuery dataset and data agent of a failed or cancelled provisioning request",
              0, "delete", enforced_by="housekeeping/provisioning_cleanup"),
    Retention("checkpoints", "LangGraph checkpoints of finished provisioning threads", 14, "delete",
              enforced_by="housekeeping/provisioning_cleanup"),
    Retention("orphan_embeddings", "code_embeddings whose source (chat session, provisioning request or data "
              "agent) no longer exists", 0, "delete", enforced_by="housekeeping/orphans"),
    Retention("generated_files", "generated files of provisioning runs (synthetic Parquet under "
              "<PLATFORM_HOME>/provisioning)", 1, "delete", enforced_by="housekeeping/orphans"),
)

POLICY: dict[str, Retention] = {p.name: p for p in POLICIES}

# Hot days of each archived raw table: the raw fact tables' rule unless a table has its own.
ARCHIVE_HOT_DAYS: dict[str, int] = {
    "tasks": RAW_HOT_DAYS, "chat_messages": RAW_HOT_DAYS, "llm_usage": RAW_HOT_DAYS,
    "agent_actions": RAW_HOT_DAYS, "signature_metrics": RAW_HOT_DAYS, "verifier_metrics": RAW_HOT_DAYS,
    "training_metrics": RAW_HOT_DAYS, "chat_sessions": POLICY["chat_sessions"].keep_days,
}


def policy_for_archived_table(table: str) -> Retention:
    return POLICY["chat_sessions"] if table == "chat_sessions" else POLICY["raw_facts"]


def markdown_table() -> str:
    """The README's retention table."""
    lines = ["| rule | what | kept | then | enforced by |", "|---|---|---|---|---|"]
    for p in POLICIES:
        kept = "0 d (at once)" if p.keep_days == 0 else f"{p.keep_days} d"
        then = p.action + (f"; {p.then} after {p.then_days} d" if p.then and p.then_days is not None else "")
        lines.append(f"| `{p.name}` | {p.what} | {kept} | {then} | `{p.enforced_by}` |")
    return "\n".join(lines)
