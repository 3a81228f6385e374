"""The source tables of the app database and how the raw layer extracts each one.

Fact tables are extracted per daily partition of their event timestamp; small
dimension tables (and slowly changing engineering/provisioning tables) are
extracted as whole snapshots. ``columns`` is the contract with the app database:
a missing or renamed column fails the extraction, naming the table and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Window:
    """Days [start, end) of a partitioned table (UTC); a snapshot has none."""

    start: date
    end: date


@dataclass(frozen=True)
class SourceTable:
    name: str
    domain: str
    columns: tuple[str, ...]
    primary_key: str = "id"
    partition_column: str | None = None  # None: unpartitioned snapshot
    description: str = ""
    natural_key: str | None = None  # the app's own key, when it differs from the primary key

    @property
    def partitioned(self) -> bool:
        return self.partition_column is not None


def _t(name: str, domain: str, columns: str, partition_column: str | None = None, description: str = "",
       primary_key: str = "id", natural_key: str | None = None) -> SourceTable:
    return SourceTable(name, domain, tuple(columns.split()), primary_key, partition_column, description, natural_key)


SOURCE_TABLES: tuple[SourceTable, ...] = (
    # marketplace
    _t("specialties", "marketplace", "id name industry created_at", description="Agent specialties."),
    _t("agents", "marketplace", "id name specialty_id industry price rating status created_at updated_at",
       description="Marketplace agents: industry, price (5,000-50,000), rating (0-5)."),
    _t("customers", "marketplace",
       "id name email company industry signup_at last_login_at status created_at updated_at",
       description="Marketplace customers."),
    _t("trials", "marketplace", "id customer_id agent_id trial_start trial_end converted created_at updated_at",
       "created_at", "Agent trials and whether they converted to paid."),
    _t("tasks", "marketplace",
       "id task_ref agent_id customer_id status rating revenue payload created_at completed_at updated_at",
       "created_at", "Tasks performed by agents for customers: status, rating, revenue.", natural_key="task_ref"),
    # AgentGrid
    _t("platform_users", "agentgrid", "id email name plan created_at", description="AgentGrid users."),
    _t("user_budgets", "agentgrid", "user_id monthly_budget_usd updated_at", primary_key="user_id",
       description="Monthly LLM budget per AgentGrid user."),
    _t("agent_versions", "agentgrid", "id agent_id version instructions change_summary is_active created_at",
       description="Version history of agent configurations."),
    _t("agent_experiments", "agentgrid",
       "id agent_id name control_version_id variant_version_id status started_at ended_at",
       description="A/B experiments between agent versions."),
    _t("experiment_assignments", "agentgrid", "id experiment_id user_id variant converted assigned_at",
       "assigned_at", "Users assigned to an experiment variant, and whether they converted."),
    _t("chat_sessions", "agentgrid", "id agent_id user_id title started_at ended_at updated_at", "started_at",
       "Chat sessions between users and agents."),
    _t("chat_messages", "agentgrid",
       "id session_id role content_length response_time_ms is_error rag_confidence context_coverage metadata "
       "created_at", "created_at", "Chat messages: response time, errors, RAG confidence, context coverage."),
    _t("llm_usage", "agentgrid",
       "id session_id message_id agent_id user_id agent_name request_id provider model prompt_tokens "
       "completion_tokens latency_ms status created_at", "created_at",
       "One row per LLM call (chat and the platform's own agents): provider, model, tokens, latency."),
    # agent telemetry
    _t("agent_actions", "telemetry",
       "id action_id agent_id action_type state_before state_after parameters result reward confidence "
       "execution_time environment context_hash created_at", "created_at",
       "Agent action records for RL training: reward, confidence, execution time."),
    _t("signature_metrics", "telemetry",
       "id signature_name signature_type performance_score success_rate avg_response_time memory_usage_mb "
       "iterations active recorded_at", "recorded_at", "Performance snapshots of DSPy signatures."),
    _t("verifier_metrics", "telemetry",
       "id verifier_name status checks_performed issues_found true_positives false_positives false_negatives "
       "avg_execution_time recorded_at", "recorded_at", "Code verifier runs with confusion counts."),
    _t("training_metrics", "telemetry",
       "id session_id epoch training_accuracy validation_accuracy loss learning_rate batch_size model_type "
       "environment hyperparameters recorded_at", "recorded_at", "Per-epoch training metrics."),
    _t("code_embeddings", "telemetry",
       "id source_type source_path chunk_start chunk_end embedding metadata created_at", "created_at",
       "pgvector embeddings of code, docs and logs."),
    # engineering
    _t("teams", "engineering", "id name", description="Engineering teams."),
    _t("users", "engineering", "id name email team_id hired_at active", description="Engineers."),
    _t("issuetypes", "engineering", "id original_name active", description="Issue types (Epic, Story, Task, Bug)."),
    _t("statuses", "engineering", "id name category active", description="Issue statuses and their category."),
    _t("issues", "engineering",
       "id key summary issuetype_id status_id epic_id assignee_id story_points comment_count created "
       "work_first_started_at work_last_completed_at total_lead_time_seconds active updated_at",
       description="Issues and epics: story points, lead time."),
    _t("repositories", "engineering", "id name", description="Code repositories."),
    _t("pull_requests", "engineering",
       "id repository_id issue_id author_id number title commit_count changed_files additions deletions "
       "has_tests review_cycles rework_commit_count created_at merged_at active updated_at",
       description="Pull requests: commits, changed files, review cycles, rework commits."),
    # provisioning
    _t("provisioning_requests", "provisioning",
       "id customer_url requested_by manual_input status cancel_requested error result dagster_run_id "
       "created_at started_at finished_at updated_at", description="Demo provisioning requests."),
    _t("data_agents", "provisioning",
       "id request_id dataset display_name instructions golden_queries capi_agent_name created_at",
       description="Data agents registered for provisioned demos."),
    _t("ai_learning_memory", "provisioning",
       "id request_id error_type user_intent failed_query specific_issue suggested_fix confidence "
       "learning_context created_at", description="Validation failures and fixes the agents learn from."),
)

SOURCE_TABLES_BY_NAME = {table.name: table for table in SOURCE_TABLES}

# Tables whose rows a table's rows refer to: their raw assets load first, so the quality
# layer's reference checks see the parents of the same run.
REFERENCES: dict[str, tuple[str, ...]] = {
    "agents": ("specialties",),
    "trials": ("agents", "customers"),
    "tasks": ("agents", "customers"),
    "user_budgets": ("platform_users",),
    "agent_versions": ("agents",),
    "agent_experiments": ("agents", "agent_versions"),
    "experiment_assignments": ("agent_experiments", "platform_users"),
    "chat_sessions": ("agents", "platform_users"),
    "chat_messages": ("chat_sessions",),
    "llm_usage": ("agents", "platform_users", "chat_sessions", "chat_messages"),
    "agent_actions": ("agents",),
    "users": ("teams",),
    "issues": ("issuetypes", "statuses", "users"),
    "pull_requests": ("issues", "repositories", "users"),
    "data_agents": ("provisioning_requests",),
    "ai_learning_memory": ("provisioning_requests",),
}
PARTITIONED_TABLES = tuple(t for t in SOURCE_TABLES if t.partitioned)
# The real-time tier (seed 000: < 5 min data freshness): facts refreshed intraday for today.
REALTIME_TABLES = tuple(SOURCE_TABLES_BY_NAME[name] for name in ("tasks", "chat_messages", "llm_usage"))
SNAPSHOT_TABLES = tuple(t for t in SOURCE_TABLES if not t.partitioned)

RAW_SCHEMA = "raw"
# Columns the raw layer adds to every table.
PARTITION_DATE_COLUMN = "_partition_date"
EXTRACTED_AT_COLUMN = "_extracted_at"
