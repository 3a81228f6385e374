"""Data modeling agent: a BigQuery schema for the customer's business, checked before anything is built.

The LLM proposes a ``SchemaDesign``; it must pass pydantic (identifiers, types, keys) and
``check_design``: every table has a primary key, the synthetic volume stays bounded, the
free-text fields carry no SQL statements, and the DDL rendered from it parses with sqlglot
in the BigQuery dialect as exactly one ``CREATE TABLE`` per table. A failing answer is fed
back to the model (the provider retries), then replaced by the domain template.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from agents.llm import LLMProvider
from agents.provisioning.research import profile_summary
from agents.schemas import FAKER_PROVIDERS, BusinessProfile, SchemaDesign, schema_to_ddl
from agents.templates import get_template

log = logging.getLogger(__name__)

MAX_TABLE_ROWS = 250_000
MAX_TOTAL_ROWS = 1_000_000
_STATEMENT_IN_TEXT = re.compile(
    r"\b(drop|truncate|delete\s+from|insert\s+into|update\s+\w+\s+set|merge\s+into|grant|revoke|alter\s+table|"
    r"create\s+(or\s+replace\s+)?(table|view|function|procedure|schema))\b",
    re.IGNORECASE,
)

MODELING_SYSTEM = (
    "You are the data modeling agent. Design a small analytical BigQuery schema (3 to 6 tables: "
    "dimensions and one or two fact tables) that lets a customer explore their own business in a demo. "
    "Every table has a single-column INT64 primary key; facts reference dimensions through foreign keys "
    "of the same type. Give categorical columns their `values`, numeric columns realistic `min`/`max`, "
    "and person/company/place STRING columns a Faker provider in `faker` (only: "
    f"{', '.join(sorted(FAKER_PROVIDERS['STRING']))}). Set `row_count` per table "
    f"(at most {MAX_TABLE_ROWS:,}, total at most {MAX_TOTAL_ROWS:,}). Descriptions are plain prose, never SQL."
)


@dataclass
class ModelingOutcome:
    schema: SchemaDesign
    ddl: list[str]
    llm_calls: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_ddl(statements: list[str]) -> None:
    """Every statement must be exactly one BigQuery ``CREATE TABLE``; ``ValueError`` otherwise."""
    for statement in statements:
        try:
            parsed = [s for s in sqlglot.parse(statement, read="bigquery") if s is not None]
        except SqlglotError as error:
            raise ValueError(f"generated DDL does not parse in BigQuery SQL: {str(error)[:300]}") from error
        if len(parsed) != 1 or not isinstance(parsed[0], exp.Create) or parsed[0].kind != "TABLE":
            raise ValueError(f"generated DDL must be one CREATE TABLE per table, got: {statement[:120]}")


def check_design(design: SchemaDesign, dataset: str = "demo") -> list[str]:
    """Checks beyond pydantic that an LLM answer must pass; returns the DDL."""
    for table in design.tables:
        if len(table.primary_key) != 1:
            raise ValueError(f"table {table.name} needs exactly one primary key column, has {table.primary_key}")
        if table.row_count > MAX_TABLE_ROWS:
            raise ValueError(f"table {table.name}: row_count {table.row_count} > {MAX_TABLE_ROWS}")
    total = sum(t.row_count for t in design.tables)
    if total > MAX_TOTAL_ROWS:
        raise ValueError(f"total row_count {total} > {MAX_TOTAL_ROWS}")
    texts = [design.rationale] + [t.description for t in design.tables]
    texts += [c.description for t in design.tables for c in t.columns]
    for text in texts:
        if _STATEMENT_IN_TEXT.search(text or ""):
            raise ValueError(f"descriptions must not contain SQL statements (DDL/DML is not allowed): {text[:80]!r}")
    ddl = schema_to_ddl(design, dataset)
    parse_ddl(ddl)
    return ddl


def _prompt(profile: BusinessProfile) -> str:
    template = get_template(profile.domain)
    hint = ", ".join(t.name for t in template.design.tables)
    return (
        f"Business profile:\n{profile_summary(profile)}\n\n"
        f"A typical {template.title} model has tables like: {hint}. Adapt it to this business."
    )


def design_schema(
    *, request_id: int, profile: BusinessProfile, dataset: str, provider: LLMProvider
) -> ModelingOutcome:
    def validate(output: Any) -> None:
        check_design(output, dataset)

    result = provider.complete_json(
        agent="data_modeling",
        system=MODELING_SYSTEM,
        prompt=_prompt(profile),
        output_model=SchemaDesign,
        request_id=request_id,
        context={"domain": profile.domain, "business_name": profile.business_name,
                 "products": profile.products, "dataset": dataset},
        validate=validate,
    )
    design = result.output
    warnings = []
    if result.fallback:
        warnings.append(f"data_modeling: template schema used ({result.fallback_reason})")
    ddl = check_design(design, dataset)
    log.info("request %s: schema with %d tables (%s)", request_id, len(design.tables), result.provider)
    return ModelingOutcome(design, ddl, [{"agent": "data_modeling", **result.metadata()}], warnings)
