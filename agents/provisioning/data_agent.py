"""Data agent: what a customer will chat with, registered in the app's ``data_agents`` table.

The local registry row always exists (dataset, instructions, golden queries); the demo
content step later replaces its golden queries with the ones that passed validation.

The Conversational Analytics API (Gemini Data Analytics) is used only when
``GEMINI_DATA_ANALYTICS_ENABLED=1``. Its client, ``google-cloud-geminidataanalytics``, is
not a dependency of the platform (pre-GA, and nothing can run it offline): install it where
the API is enabled. It is imported lazily here, so nothing else needs it.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from agents.llm import LLMProvider
from agents.schemas import BusinessProfile, DataAgentSpec, GoldenQuery, SchemaDesign

log = logging.getLogger(__name__)

CAPI_ENABLED_VARIABLE = "GEMINI_DATA_ANALYTICS_ENABLED"
CAPI_LOCATION = "global"

DATA_AGENT_SYSTEM = (
    "You are the agent-creation agent. Write the system instructions of a conversational data "
    "analyst for this customer: what the tables mean, the business definitions (revenue, active, "
    "churn...), how to answer (numbers first, one-line takeaway), and that only read-only SELECT "
    "queries over the demo dataset are allowed. Add a few example questions with their SQL."
)


class CapiUnavailableError(RuntimeError):
    """GEMINI_DATA_ANALYTICS_ENABLED=1 but the client library is not installed."""


def capi_enabled() -> bool:
    return os.environ.get(CAPI_ENABLED_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def design_data_agent(
    *, request_id: int, profile: BusinessProfile, schema: SchemaDesign, dataset: str, provider: LLMProvider
) -> tuple[DataAgentSpec, dict[str, Any]]:
    tables = "\n".join(
        f"- {dataset}.{t.name}: {t.description} ({', '.join(c.name + ' ' + c.type for c in t.columns)})"
        for t in schema.tables
    )
    result = provider.complete_json(
        agent="data_agent",
        system=DATA_AGENT_SYSTEM,
        prompt=f"Customer: {profile.business_name} ({profile.domain}).\nDataset `{dataset}`:\n{tables}",
        output_model=DataAgentSpec,
        request_id=request_id,
        context={"domain": profile.domain, "business_name": profile.business_name, "dataset": dataset},
    )
    return result.output, {"agent": "data_agent", **result.metadata()}


def register_data_agent(
    dsn: str,
    *,
    request_id: int,
    dataset: str,
    spec: DataAgentSpec,
    capi_agent_name: str | None = None,
) -> int:
    """Insert (or, on a resumed run, update) the request's ``data_agents`` row; returns its id."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO data_agents (request_id, dataset, display_name, instructions, golden_queries, "
            "capi_agent_name) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (request_id) DO UPDATE SET dataset = EXCLUDED.dataset, "
            "display_name = EXCLUDED.display_name, instructions = EXCLUDED.instructions, "
            "golden_queries = EXCLUDED.golden_queries, "
            "capi_agent_name = COALESCE(EXCLUDED.capi_agent_name, data_agents.capi_agent_name) RETURNING id",
            (request_id, dataset, spec.display_name, spec.instructions,
             Jsonb([q.model_dump() for q in spec.golden_queries]), capi_agent_name),
        ).fetchone()
    assert row is not None
    return int(row[0])


def update_golden_queries(dsn: str, request_id: int, queries: list[GoldenQuery]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE data_agents SET golden_queries = %s WHERE request_id = %s",
            (Jsonb([q.model_dump() for q in queries]), request_id),
        )


def create_capi_agent(
    *, project: str, dataset: str, tables: list[str], spec: DataAgentSpec, request_id: int
) -> str:
    """Create the data agent in the Conversational Analytics API; returns its resource name."""
    try:
        from google.cloud import geminidataanalytics  # type: ignore[attr-defined]
    except ImportError as error:
        raise CapiUnavailableError(
            f"{CAPI_ENABLED_VARIABLE}=1 but google-cloud-geminidataanalytics is not installed "
            "(pip install google-cloud-geminidataanalytics)"
        ) from error
    dataset_id = dataset.split(".")[-1]
    context = geminidataanalytics.Context(
        system_instruction=spec.instructions,
        datasource_references=geminidataanalytics.DatasourceReferences(
            bq=geminidataanalytics.BigQueryTableReferences(
                table_references=[
                    geminidataanalytics.BigQueryTableReference(project_id=project, dataset_id=dataset_id, table_id=t)
                    for t in tables
                ]
            )
        ),
        example_queries=[
            geminidataanalytics.ExampleQuery(natural_language_question=q.question, sql_query=q.sql)
            for q in spec.golden_queries
        ],
    )
    agent_id = re.sub(r"[^a-z0-9-]", "-", f"demo-{request_id}")
    client = geminidataanalytics.DataAgentServiceClient()
    operation = client.create_data_agent(
        parent=f"projects/{project}/locations/{CAPI_LOCATION}",
        data_agent_id=agent_id,
        data_agent=geminidataanalytics.DataAgent(
            display_name=spec.display_name,
            data_analytics_agent=geminidataanalytics.DataAnalyticsAgent(published_context=context),
        ),
    )
    created = operation.result(timeout=120)
    log.info("Conversational Analytics data agent %s created", created.name)
    return str(created.name)
