"""The domain template model and the compact column notation the catalog files (catalog/*.yaml) use.

Column notation (one string per column)::

    "order_id INT64 PK"                          primary key (implies NOT NULL)
    "customer_id INT64 FK customers.customer_id" foreign key
    "status STRING {placed|shipped|delivered}"   categorical values for synthetic data
    "total NUMERIC [5,500]"                      numeric range for synthetic data
    "email STRING @email"                        faker provider for synthetic data
    "name STRING NN"                             NOT NULL

Golden query SQL names tables as ``{dataset}.table``; ``DomainTemplate.golden_queries_for``
substitutes the provisioned dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.schemas import (
    ColumnSpec,
    DataAgentSpec,
    DemoScript,
    DemoStep,
    ForeignKey,
    GoldenQuery,
    SchemaDesign,
    TableSpec,
)

DATASET_PLACEHOLDER = "{dataset}"
_VALUES = re.compile(r"\{([^}]*)\}")
_RANGE = re.compile(r"\[([^\]]*)\]")
_FAKER = re.compile(r"@(\w+)")
_FK = re.compile(r"\bFK\s+(\w+)\.(\w+)")


def parse_column(spec: str) -> tuple[ColumnSpec, bool, ForeignKey | None]:
    """(column, is_primary_key, foreign_key) from the compact notation."""
    values = _VALUES.search(spec)
    bounds = _RANGE.search(spec)
    faker = _FAKER.search(spec)
    fk = _FK.search(spec)
    rest = _FK.sub("", _FAKER.sub("", _RANGE.sub("", _VALUES.sub("", spec))))
    words = rest.split()
    if len(words) < 2:
        raise ValueError(f"column spec {spec!r}: expected 'name TYPE [PK|NN] ...'")
    name, type_, flags = words[0], words[1], {w.upper() for w in words[2:]}
    unknown = flags - {"PK", "NN"}
    if unknown:
        raise ValueError(f"column spec {spec!r}: unknown flags {sorted(unknown)}")
    low = high = None
    if bounds:
        try:
            low_text, high_text = (part.strip() for part in bounds.group(1).split(","))
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise ValueError(f"column spec {spec!r}: a range is written [low,high]") from None
    column = ColumnSpec(
        name=name,
        type=type_,
        nullable=not ({"PK", "NN"} & flags),
        values=[v.strip() for v in values.group(1).split("|")] if values else None,
        min=low,
        max=high,
        faker=faker.group(1) if faker else None,
    )
    foreign = ForeignKey(column=name, references_table=fk.group(1), references_column=fk.group(2)) if fk else None
    return column, "PK" in flags, foreign


def table(name: str, rows: int, description: str, *columns: str) -> TableSpec:
    parsed = [parse_column(c) for c in columns]
    return TableSpec(
        name=name,
        description=description,
        row_count=rows,
        columns=[c for c, _, _ in parsed],
        primary_key=[c.name for c, pk, _ in parsed if pk],
        foreign_keys=[fk for _, _, fk in parsed if fk],
    )


class DomainTemplate(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    keywords: dict[str, float] = Field(description="keyword or phrase -> weight, for detect_domain")
    entities: list[str]
    design: SchemaDesign
    questions: list[GoldenQuery] = Field(min_length=4, max_length=6)
    instructions: str
    demo_outline: list[str] = Field(min_length=3)
    sample_products: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tables(self) -> DomainTemplate:
        if not 3 <= len(self.design.tables) <= 5:
            raise ValueError(f"template {self.name}: 3-5 tables expected")
        for query in self.questions:
            if DATASET_PLACEHOLDER not in query.sql:
                raise ValueError(f"template {self.name}: golden query must use {DATASET_PLACEHOLDER}.<table>")
        return self

    def golden_queries_for(self, dataset: str) -> list[GoldenQuery]:
        return [q.model_copy(update={"sql": q.sql.replace(DATASET_PLACEHOLDER, dataset)}) for q in self.questions]

    def data_agent_spec(self, business_name: str, dataset: str) -> DataAgentSpec:
        instructions = (
            f"You are the data analyst of {business_name}, a {self.title.lower()} business. "
            f"{self.instructions}\nTables live in the BigQuery dataset `{dataset}`: "
            + "; ".join(f"{t.name} ({t.description})" for t in self.design.tables)
            + ". Only run read-only SELECT queries; answer with numbers and a one-line takeaway."
        )
        return DataAgentSpec(
            display_name=f"{business_name} analyst"[:120],
            instructions=instructions,
            golden_queries=self.golden_queries_for(dataset),
        )

    def demo_script(self, business_name: str) -> DemoScript:
        steps = []
        for i, outline in enumerate(self.demo_outline):
            question = self.questions[i].question if i < len(self.questions) else None
            steps.append(DemoStep(title=outline, talking_points=[outline], question=question))
        return DemoScript(
            title=f"{business_name}: conversational analytics demo",
            audience=f"{self.title} leadership and analysts",
            steps=steps,
        )


@dataclass(frozen=True)
class DomainMatch:
    domain: str
    score: float  # confidence in [0, 1]
    raw: float  # weighted keyword hits
    hits: tuple[str, ...]
