"""The pydantic models the provisioning agents exchange, and ``schema_to_ddl``.

These are also the ``output_model`` types handed to ``agents.llm.complete_json``: their
validators are what an LLM answer must pass (safe identifiers, BigQuery types from an
allow-list, keys that refer to existing columns), and the validation errors are fed
back to the model verbatim when it has to retry.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
DATASET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")

# GEOGRAPHY is left out: the embedded BigQuery emulator cannot serve it (FACTS.md).
BIGQUERY_TYPES = frozenset(
    {"STRING", "INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC", "BOOL", "DATE", "DATETIME", "TIMESTAMP", "TIME", "BYTES", "JSON"}
)
TYPE_ALIASES = {
    "INTEGER": "INT64",
    "INT": "INT64",
    "BIGINT": "INT64",
    "SMALLINT": "INT64",
    "FLOAT": "FLOAT64",
    "DOUBLE": "FLOAT64",
    "DECIMAL": "NUMERIC",
    "BIGDECIMAL": "BIGNUMERIC",
    "BOOLEAN": "BOOL",
    "TEXT": "STRING",
    "VARCHAR": "STRING",
}
# Words that would need quoting in every generated query: refused as names.
RESERVED_WORDS = frozenset(
    ["all", "and", "any", "array", "as", "asc", "assert_rows_modified", "at", "between", "by", "case", "cast", "collate", "contains", "create", "cross", "cube", "current", "default", "define", "desc", "distinct", "else", "end", "enum", "escape", "except", "exclude", "exists", "extract", "false", "fetch", "following", "for", "from", "full", "group", "grouping", "groups", "hash", "having", "if", "ignore", "in", "inner", "intersect", "interval", "into", "is", "join", "lateral", "left", "like", "limit", "lookup", "merge", "natural", "new", "no", "not", "null", "nulls", "of", "on", "or", "order", "outer", "over", "partition", "preceding", "proto", "qualify", "range", "recursive", "respect", "right", "rollup", "rows", "select", "set", "some", "struct", "tablesample", "then", "to", "treat", "true", "unbounded", "union", "unnest", "using", "when", "where", "window", "with", "within", "table"]
)

SQLText = Annotated[str, Field(min_length=1, max_length=20_000, json_schema_extra={"format": "sql"})]

# Faker providers a design may name, by column type. The provider is called by name, and the
# name comes from an LLM that read the customer's website: anything else (``binary``,
# ``pystr``, ``zip``, dunder attributes) could return megabytes per value or not be a
# provider at all. Every one here returns a short string.
FAKER_PROVIDERS: dict[str, frozenset[str]] = {
    "STRING": frozenset(
        ["name", "first_name", "last_name", "email", "company", "company_suffix", "job", "catch_phrase", "bs",
         "city", "state", "state_abbr", "country", "country_code", "postcode", "zipcode", "street_address",
         "phone_number", "url", "domain_name", "user_name", "word", "color_name", "license_plate",
         "currency_code", "language_name", "bothify"]
    ),
}
CATEGORICAL_VALUE_MAX_CHARS = 256
CATEGORICAL_VALUES_MAX = 500
CategoricalValue = Annotated[str, Field(max_length=CATEGORICAL_VALUE_MAX_CHARS)]


def _check_identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(f"{what} {value!r} must match {IDENTIFIER.pattern} (letters, digits, underscores)")
    if value.lower() in RESERVED_WORDS:
        raise ValueError(f"{what} {value!r} is a reserved SQL word")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ColumnSpec(_Model):
    name: str = Field(description="snake_case column name")
    type: str = Field(description=f"BigQuery type, one of {sorted(BIGQUERY_TYPES)}")
    description: str = ""
    nullable: bool = True
    values: list[CategoricalValue] | None = Field(
        default=None, max_length=CATEGORICAL_VALUES_MAX, description="categorical values for synthetic data"
    )
    min: float | None = Field(default=None, description="lower bound for synthetic numeric values")
    max: float | None = Field(default=None, description="upper bound for synthetic numeric values")
    faker: str | None = Field(
        default=None,
        description=f"faker provider for synthetic STRING values, one of: {', '.join(sorted(FAKER_PROVIDERS['STRING']))}",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_identifier(value, "column name")

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        upper = value.strip().upper()
        upper = TYPE_ALIASES.get(upper, upper)
        if upper not in BIGQUERY_TYPES:
            raise ValueError(f"type {value!r} is not one of {sorted(BIGQUERY_TYPES)}")
        return upper

    @model_validator(mode="after")
    def _range(self) -> ColumnSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} > max {self.max}")
        return self

    @model_validator(mode="after")
    def _faker(self) -> ColumnSpec:
        if self.faker is None:
            return self
        provider = self.faker.strip().lower()
        allowed = FAKER_PROVIDERS.get(self.type)
        if allowed is None:
            raise ValueError(f"column {self.name} ({self.type}): faker providers apply to STRING columns only; "
                             "remove `faker` (use `values` or `min`/`max`)")
        if provider not in allowed:
            raise ValueError(f"column {self.name}: faker provider {self.faker!r} is not allowed for {self.type} "
                             f"columns; use one of: {', '.join(sorted(allowed))}")
        self.faker = provider
        return self


class ForeignKey(_Model):
    column: str
    references_table: str
    references_column: str


class TableSpec(_Model):
    name: str = Field(description="snake_case table name")
    description: str = ""
    columns: list[ColumnSpec] = Field(min_length=1, max_length=60)
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    row_count: int = Field(default=1000, ge=1, le=1_000_000, description="synthetic rows to generate")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_identifier(value, "table name")

    @model_validator(mode="after")
    def _keys(self) -> TableSpec:
        names = [c.name.lower() for c in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"table {self.name}: duplicate columns {duplicates}")
        for key in self.primary_key:
            if key.lower() not in names:
                raise ValueError(f"table {self.name}: primary key column {key!r} does not exist")
        for fk in self.foreign_keys:
            if fk.column.lower() not in names:
                raise ValueError(f"table {self.name}: foreign key column {fk.column!r} does not exist")
        return self

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name.lower() == name.lower():
                return column
        raise KeyError(name)


class SchemaDesign(_Model):
    """A star-ish schema: a few dimension tables and one or two fact tables."""

    tables: list[TableSpec] = Field(min_length=1, max_length=12)
    rationale: str = ""

    @model_validator(mode="after")
    def _references(self) -> SchemaDesign:
        by_name = {t.name.lower(): t for t in self.tables}
        if len(by_name) != len(self.tables):
            raise ValueError("duplicate table names")
        for table in self.tables:
            for fk in table.foreign_keys:
                target = by_name.get(fk.references_table.lower())
                if target is None:
                    raise ValueError(
                        f"table {table.name}: foreign key {fk.column} references unknown table {fk.references_table!r}"
                    )
                try:
                    ref = target.column(fk.references_column)
                except KeyError:
                    raise ValueError(
                        f"table {table.name}: foreign key {fk.column} references unknown column "
                        f"{fk.references_table}.{fk.references_column}"
                    ) from None
                if ref.type != table.column(fk.column).type:
                    raise ValueError(
                        f"table {table.name}: foreign key {fk.column} ({table.column(fk.column).type}) does not "
                        f"match {target.name}.{ref.name} ({ref.type})"
                    )
        return self

    def table(self, name: str) -> TableSpec:
        for table in self.tables:
            if table.name.lower() == name.lower():
                return table
        raise KeyError(name)

    def load_order(self) -> list[TableSpec]:
        """Referenced tables first, so synthetic foreign keys can point at existing rows."""
        ordered: list[TableSpec] = []
        remaining = list(self.tables)
        while remaining:
            progressed = False
            for table in list(remaining):
                deps = {fk.references_table.lower() for fk in table.foreign_keys} - {table.name.lower()}
                if deps <= {t.name.lower() for t in ordered}:
                    ordered.append(table)
                    remaining.remove(table)
                    progressed = True
            if not progressed:  # a cycle: keep the declared order for the rest
                ordered.extend(remaining)
                break
        return ordered


BUSINESS_NAME_MAX_CHARS = 200
DESCRIPTION_MAX_CHARS = 4000


def clip_business_name(name: str) -> str:
    """A name that fits ``BusinessProfile.business_name``: a page may declare any length."""
    return name.strip()[:BUSINESS_NAME_MAX_CHARS].strip()


def clip_description(text: str) -> str:
    return text.strip()[:DESCRIPTION_MAX_CHARS].strip()


class BusinessProfile(_Model):
    """What the research agent learned about the customer."""

    business_name: str = Field(min_length=1, max_length=BUSINESS_NAME_MAX_CHARS)
    domain: str = Field(description="one of the template domains, e.g. ecommerce, saas, healthcare_clinic")
    description: str = Field(default="", max_length=DESCRIPTION_MAX_CHARS)
    website: str | None = None
    products: list[str] = Field(default_factory=list, max_length=50)
    key_entities: list[str] = Field(default_factory=list, max_length=30)
    target_customers: str = ""
    source: Literal["web", "manual", "template", "llm"] = "llm"
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return _check_identifier(value.strip().lower().replace("-", "_").replace(" ", "_"), "domain")


class GoldenQuery(_Model):
    question: str = Field(min_length=5, max_length=500)
    sql: SQLText = Field(description="one read-only BigQuery SELECT over the demo dataset")
    insight: str = Field(default="", description="what the answer shows a customer")


class GoldenQuerySet(_Model):
    queries: list[GoldenQuery] = Field(min_length=1, max_length=20)


class DataAgentSpec(_Model):
    """What the data agent (Conversational Analytics API / local registry) is created with."""

    display_name: str = Field(min_length=1, max_length=120)
    instructions: str = Field(min_length=20, max_length=20_000)
    golden_queries: list[GoldenQuery] = Field(min_length=1, max_length=20)


class DemoStep(_Model):
    title: str
    talking_points: list[str] = Field(default_factory=list)
    question: str | None = None


class DemoScript(_Model):
    title: str
    audience: str = ""
    steps: list[DemoStep] = Field(min_length=1, max_length=20)


def _quote(name: str) -> str:
    return f"`{name}`"


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", " ")
    return f"'{escaped}'"


def schema_to_ddl(
    schema: SchemaDesign, dataset: str, *, project: str | None = None, constraints: bool = True
) -> list[str]:
    """One ``CREATE TABLE IF NOT EXISTS`` per table, in load order (BigQuery dialect).

    Keys are declared ``NOT ENFORCED`` (BigQuery only records them, for the optimizer and
    for data agents); ``constraints=False`` leaves them out for engines that reject them.
    """
    if not DATASET_NAME.match(dataset):
        raise ValueError(f"dataset {dataset!r} must match {DATASET_NAME.pattern}")
    if project is not None and not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", project):
        raise ValueError(f"invalid project id {project!r}")
    prefix = f"{project}.{dataset}" if project else dataset
    statements = []
    for table in schema.load_order():
        parts = []
        for column in table.columns:
            line = f"{_quote(column.name)} {column.type}"
            if not column.nullable:
                line += " NOT NULL"
            if column.description:
                line += f" OPTIONS(description={_literal(column.description)})"
            parts.append(line)
        if constraints and table.primary_key:
            keys = ", ".join(_quote(k) for k in table.primary_key)
            parts.append(f"PRIMARY KEY ({keys}) NOT ENFORCED")
        if constraints:
            for fk in table.foreign_keys:
                parts.append(
                    f"CONSTRAINT {_quote(f'fk_{table.name}_{fk.column}')} FOREIGN KEY ({_quote(fk.column)}) "
                    f"REFERENCES {_quote(f'{prefix}.{fk.references_table}')} ({_quote(fk.references_column)}) NOT ENFORCED"
                )
        body = ",\n  ".join(parts)
        options = f"\nOPTIONS(description={_literal(table.description)})" if table.description else ""
        statements.append(f"CREATE TABLE IF NOT EXISTS {_quote(f'{prefix}.{table.name}')} (\n  {body}\n){options}")
    return statements


def sql_fields(model: BaseModel) -> list[tuple[str, str]]:
    """(path, sql) of every field declared as SQL text, for checking LLM output."""
    found: list[tuple[str, str]] = []

    def visit(value: object, path: str) -> None:
        if isinstance(value, BaseModel):
            for name, info in type(value).model_fields.items():
                extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
                child = getattr(value, name)
                if extra.get("format") == "sql" and isinstance(child, str):
                    found.append((f"{path}{name}", child))
                else:
                    visit(child, f"{path}{name}.")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                visit(item, f"{path.rstrip('.')}[{i}].")

    visit(model, "")
    return found
