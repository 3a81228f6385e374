"""The built-in domain templates are data: one YAML file per template in ``catalog/``.

A file holds one template; its file name is the template's name (``catalog/ecommerce.yaml``
holds ``name: ecommerce``)::

    name: ecommerce
    title: E-commerce / online retail
    keywords: {shop: 2, online store: 3, ...}        # keyword or phrase -> weight
    entities: [customer, product, order]
    tables:
    - name: customers
      row_count: 2000
      description: Registered shoppers
      columns:                                        # the compact notation of model.py
      - customer_id INT64 PK
      - country STRING {US|CA|GB}
    questions:                                        # 4-6 golden queries on {dataset}.<table>
    - question: How many customers per country?
      sql: SELECT country, COUNT(*) AS customers FROM {dataset}.customers GROUP BY country
      insight: ""                                     # optional
    instructions: ...
    demo_outline: [...]                               # at least 3 steps
    sample_products: [...]                            # optional

Files are read through ``importlib.resources`` (they ship as package data) and checked by
the Pydantic models of ``agents.schemas`` and ``DomainTemplate``; a file that does not
parse or validate raises ``TemplateFileError`` naming the file, the template and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from agents.schemas import GoldenQuery, SchemaDesign
from agents.templates.model import DomainTemplate, parse_column, table

CATALOG_PACKAGE = "agents.templates"
CATALOG_DIRECTORY = "catalog"
TEMPLATE_SUFFIX = ".yaml"


class TemplateFileError(ValueError):
    """A template file that cannot be read as a valid template; the message names the file."""


def _column(spec: str) -> str:
    try:
        parse_column(spec)  # a ValueError names the spec
    except ValidationError as exc:
        raise ValueError(f"column spec {spec!r}: {_errors(exc)}") from None
    return spec


class _TableEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    row_count: int
    description: str = ""
    columns: list[Annotated[str, AfterValidator(_column)]] = Field(min_length=1)


class _QuestionEntry(BaseModel):
    """A golden query as written; ``GoldenQuery`` checks it when the template is built."""

    model_config = ConfigDict(extra="forbid")

    question: str
    sql: str
    insight: str = ""


class _TemplateEntry(BaseModel):
    """The file's shape: ``DomainTemplate`` with tables written in the compact notation."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    keywords: dict[str, float]
    entities: list[str]
    tables: list[_TableEntry]
    questions: list[_QuestionEntry]
    instructions: str
    demo_outline: list[str]
    sample_products: list[str] = Field(default_factory=list)


def _errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> str:
    """``field.path: message`` for each error (``prefix`` leads the path)."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in (*prefix, *error["loc"]))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def _template(entry: _TemplateEntry) -> DomainTemplate:
    tables, questions = [], []
    for i, spec in enumerate(entry.tables):
        try:
            tables.append(table(spec.name, spec.row_count, spec.description, *spec.columns))
        except ValidationError as exc:
            raise TemplateFileError(_errors(exc, ("tables", i))) from None
    for i, query in enumerate(entry.questions):
        try:
            questions.append(GoldenQuery.model_validate(query.model_dump()))
        except ValidationError as exc:
            raise TemplateFileError(_errors(exc, ("questions", i))) from None
    try:
        design = SchemaDesign(tables=tables)
    except ValidationError as exc:
        raise TemplateFileError(_errors(exc, ("tables",))) from None
    fields: dict[str, Any] = entry.model_dump(exclude={"tables", "questions"})
    try:
        return DomainTemplate(design=design, questions=questions, **fields)
    except ValidationError as exc:
        raise TemplateFileError(_errors(exc)) from None


def load_template_file(path: Traversable | Path) -> DomainTemplate:
    """One template from its YAML file; ``TemplateFileError`` names the file, template and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        raise TemplateFileError(f"{path}: not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateFileError(f"{path}: cannot read the template: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateFileError(
            f"{path}: a template file holds one mapping (name, title, keywords, ...), not {type(data).__name__}"
        )
    name = data.get("name")
    try:
        template = _template(_TemplateEntry.model_validate(data))
    except ValidationError as exc:
        raise TemplateFileError(f"{path}: template {name!r}: {_errors(exc)}") from None
    except TemplateFileError as exc:
        raise TemplateFileError(f"{path}: template {name!r}: {exc}") from None
    expected = path.name.removesuffix(TEMPLATE_SUFFIX)
    if template.name != expected:
        raise TemplateFileError(f"{path}: template {template.name!r} must be in a file named {template.name}.yaml")
    return template


def catalog_files() -> list[Traversable]:
    """The built-in template files, sorted by name."""
    directory = files(CATALOG_PACKAGE).joinpath(CATALOG_DIRECTORY)
    return sorted(
        (entry for entry in directory.iterdir() if entry.name.endswith(TEMPLATE_SUFFIX)), key=lambda e: e.name
    )


def load_templates(paths: Iterable[Traversable | Path]) -> dict[str, DomainTemplate]:
    """name -> template for every file; a name given twice is an error naming both files."""
    templates: dict[str, DomainTemplate] = {}
    origin: dict[str, Traversable | Path] = {}
    for path in paths:
        template = load_template_file(path)
        if template.name in templates:
            raise TemplateFileError(f"{path}: duplicate template {template.name!r} (also in {origin[template.name]})")
        templates[template.name] = template
        origin[template.name] = path
    return templates
