"""The BigQuery tables the exports write: explicit schemas, never inferred.

One table per export-shaped mart (seed 000's BigQuerySync: agent_performance,
customer_behavior, revenue_metrics), day-partitioned on ``day``. Money is NUMERIC (exact;
rounded to BigQuery's 9 decimals), ratios and averages are FLOAT64, counts INT64.
``checksum_column`` is summed in the mart and read back from BigQuery after every load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.bigquery import SchemaField

PARTITION_FIELD = "day"
DEFAULT_DATASET = "exports"
MART_SCHEMA = "marts"


@dataclass(frozen=True)
class Column:
    """One column of a BigQuery table's explicit schema. The specs are read by the code location on
    every load; BigQuery's own ``SchemaField`` (``google.cloud.bigquery``: 0.4 s to import) is made
    only where a table is created or checked (``bigquery_schema``)."""

    name: str
    field_type: str
    mode: str
    description: str

    def schema_field(self) -> SchemaField:
        from google.cloud.bigquery import SchemaField

        return SchemaField(self.name, self.field_type, mode=self.mode, description=self.description)


def _f(name: str, field_type: str, description: str, required: bool = False) -> Column:
    return Column(name, field_type, "REQUIRED" if required else "NULLABLE", description)


@dataclass(frozen=True)
class Enrichment:
    """Columns the export adds from another table at export time (LEFT JOIN: NULL where it has no row,
    or while the table does not exist yet), e.g. a model's scores that the marts cannot depend on."""

    relation: str  # schema.table
    on: tuple[tuple[str, str], ...]  # (mart column, relation column) pairs; the relation is unique on them
    columns: tuple[str, ...]
    asset_path: tuple[str, ...]


@dataclass(frozen=True)
class ExportSpec:
    name: str  # the dbt model and the BigQuery table
    schema: tuple[Column, ...]
    checksum_column: str
    clustering: tuple[str, ...]
    description: str
    enrichment: Enrichment | None = None
    # NULLABLE columns at the end of the schema that tables of an earlier release lack: the export
    # adds them to such a table in place (its earlier rows read NULL); any other drift is refused.
    added_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        tail = self.schema[len(self.schema) - len(self.added_columns):] if self.added_columns else ()
        if tuple(f.name for f in tail) != self.added_columns or any(f.mode == "REQUIRED" for f in tail):
            raise ValueError(f"{self.name}: added columns {self.added_columns} must be the schema's last, NULLABLE")

    def bigquery_schema(self) -> list[SchemaField]:
        """The schema as BigQuery's client takes it."""
        return [column.schema_field() for column in self.schema]

    @property
    def mart_path(self) -> tuple[str, ...]:
        """The mart's asset key path: the dbt translator keys the export-shaped models under marts/."""
        return ("marts", self.name)

    @property
    def asset_path(self) -> tuple[str, ...]:
        return ("exports", self.name)


EXPORTS: dict[str, ExportSpec] = {
    spec.name: spec
    for spec in (
        ExportSpec(
            name="agent_performance",
            schema=(
                _f("day", "DATE", "UTC day", required=True),
                _f("agent_id", "INTEGER", "the agent", required=True),
                _f("agent_name", "STRING", "agent display name"),
                _f("industry", "STRING", "marketing | education | sales"),
                _f("tasks_completed", "INTEGER", "tasks completed on the day"),
                _f("avg_rating", "FLOAT", "average rating of those tasks"),
                _f("total_revenue", "NUMERIC", "revenue of those tasks (checksum column)"),
                _f("efficiency_score", "FLOAT", "tasks_completed x avg_rating / 10"),
                _f("revenue_per_task", "NUMERIC", "total_revenue / tasks_completed"),
                _f("total_chats", "INTEGER", "chat sessions active on the day"),
                _f("total_messages", "INTEGER", "chat messages on the day"),
                _f("avg_response_time_ms", "FLOAT", "average response time of the agent's answers"),
                _f("error_rate", "FLOAT", "share of answers that were errors"),
                _f("llm_cost_usd", "NUMERIC", "LLM cost of the agent's chats on the day"),
            ),
            checksum_column="total_revenue",
            clustering=("agent_id",),
            description="Daily agent performance: task and chat metrics per agent and day.",
        ),
        ExportSpec(
            name="customer_behavior",
            schema=(
                _f("day", "DATE", "UTC day", required=True),
                _f("customer_id", "INTEGER", "the customer", required=True),
                _f("industry", "STRING", "the customer's industry"),
                _f("customer_status", "STRING", "current customer status"),
                _f("tasks_created", "INTEGER", "tasks created on the day"),
                _f("tasks_completed", "INTEGER", "of those, tasks completed"),
                _f("revenue", "NUMERIC", "revenue of the completed tasks created on the day (checksum column)"),
                _f("tasks_last_7d", "INTEGER", "tasks created in the 7 days ending on the day"),
                _f("avg_rating_last_7d", "FLOAT", "their average rating"),
                _f("days_inactive", "INTEGER", "days since the customer's last task (capped)"),
                _f("tenure_days", "INTEGER", "days since signup"),
                _f("churn_probability", "FLOAT", "the churn model's probability that the customer churns within "
                   "7 days, scored on this day's features (ml.churn_scores); NULL for a day it has not scored"),
            ),
            checksum_column="revenue",
            clustering=("customer_id",),
            description="Daily customer behaviour: activity of the day, churn features and churn probability.",
            # ml/churn_scores reads the marts, so the mart cannot read it back: the export joins it.
            enrichment=Enrichment(relation="ml.churn_scores", on=(("customer_id", "customer_id"), ("day", "feature_day")),
                                  columns=("churn_probability",), asset_path=("ml", "churn_scores")),
            added_columns=("churn_probability",),
        ),
        ExportSpec(
            name="revenue_metrics",
            schema=(
                _f("day", "DATE", "UTC day", required=True),
                _f("industry", "STRING", "marketplace industry", required=True),
                _f("tasks_completed", "INTEGER", "tasks completed on the day"),
                _f("total_revenue", "NUMERIC", "revenue of those tasks (checksum column)"),
                _f("active_agents", "INTEGER", "agents with a completed task on the day"),
                _f("revenue_per_task", "NUMERIC", "total_revenue / tasks_completed"),
                _f("llm_cost_usd", "NUMERIC", "LLM cost of the industry's agents on the day"),
                _f("gross_margin_usd", "NUMERIC", "total_revenue - llm_cost_usd"),
            ),
            checksum_column="total_revenue",
            clustering=("industry",),
            description="Daily revenue per industry against the LLM cost of its agents.",
        ),
    )
}
