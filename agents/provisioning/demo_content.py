"""Demo content agent: golden queries that are proven to run, and the demo script built on them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from google.cloud import bigquery

from agents.llm import LLMProvider
from agents.provisioning.validation import GoldenQueryValidator, QueryValidation
from agents.schemas import BusinessProfile, DemoScript, GoldenQuery, GoldenQuerySet, SchemaDesign
from agents.templates import get_template

log = logging.getLogger(__name__)

MAX_GOLDEN_QUERIES = 8

GOLDEN_SYSTEM = (
    "You are the demo content agent. Write the golden queries of a customer demo: business "
    "questions the customer's leadership would ask, each with one read-only BigQuery SELECT over the "
    "demo dataset (tables qualified as dataset.table) and the insight it shows. Use only the listed "
    "tables and columns."
)
SCRIPT_SYSTEM = (
    "You write the demo script a sales engineer follows: a title, the audience, and 4 to 6 steps, "
    "each with talking points and the question to ask the data agent."
)


class DemoContentFailed(RuntimeError):
    """No golden query survived validation: there is nothing to demo."""


@dataclass
class DemoContentOutcome:
    validations: list[QueryValidation]
    script: DemoScript
    llm_calls: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def verified_queries(self) -> list[GoldenQuery]:
        return [GoldenQuery(question=v.question, sql=v.sql, insight=v.insight) for v in self.validations if v.ok]


def _tables_prompt(schema: SchemaDesign, dataset: str) -> str:
    return "\n".join(
        f"- {dataset}.{t.name}: {t.description} ({', '.join(c.name + ' ' + c.type for c in t.columns)})"
        for t in schema.tables
    )


def build_demo_content(
    *,
    request_id: int,
    profile: BusinessProfile,
    schema: SchemaDesign,
    dataset: str,
    client: bigquery.Client,
    provider: LLMProvider,
    app_dsn: str,
    statement_timeout_ms: int = 30_000,
) -> DemoContentOutcome:
    context = {"domain": profile.domain, "business_name": profile.business_name, "dataset": dataset}
    calls: list[dict[str, Any]] = []
    golden = provider.complete_json(
        agent="demo_content",
        system=GOLDEN_SYSTEM,
        prompt=f"Customer: {profile.business_name} ({profile.domain}).\nTables:\n{_tables_prompt(schema, dataset)}",
        output_model=GoldenQuerySet,
        request_id=request_id,
        context=context,
    )
    calls.append({"agent": "demo_content/golden_queries", **golden.metadata()})
    template = get_template(profile.domain)
    validator = GoldenQueryValidator(
        client=client,
        schema=schema,
        dataset=dataset,
        app_dsn=app_dsn,
        provider=provider,
        request_id=request_id,
        template_sql={q.question: q.sql for q in template.questions},
        llm_judge=provider.name == "anthropic",
        statement_timeout_ms=statement_timeout_ms,
    )
    validations = [validator.validate(q) for q in golden.output.queries[:MAX_GOLDEN_QUERIES]]
    calls.extend(validator.llm_calls)
    passed = [v for v in validations if v.ok]
    if not passed:
        raise DemoContentFailed(
            f"none of the {len(validations)} golden queries passed validation; "
            + "; ".join(f"{v.question}: {v.attempts[-1].get('error', '')}" for v in validations)[:2000]
        )
    questions = "\n".join(f"- {v.question} ({v.insight})" for v in passed)
    script = provider.complete_json(
        agent="demo_content",
        system=SCRIPT_SYSTEM,
        prompt=f"Customer: {profile.business_name} ({profile.domain}). Verified questions:\n{questions}",
        output_model=DemoScript,
        request_id=request_id,
        context=context,
    )
    calls.append({"agent": "demo_content/demo_script", **script.metadata()})
    warnings = [f"golden query failed validation: {v.question}" for v in validations if not v.ok]
    log.info("request %s: %d/%d golden queries validated", request_id, len(passed), len(validations))
    return DemoContentOutcome(validations, script.output, calls, warnings)
