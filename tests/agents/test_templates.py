"""Domain templates are valid BigQuery designs whose golden queries pass the SQL guard."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from pydantic import ValidationError
from sqlglot import exp

from agents.guards.sql import SQLPolicy, guard_sql, inspect_sql
from agents.schemas import ColumnSpec, SchemaDesign, TableSpec, schema_to_ddl
from agents.templates import (
    UNKNOWN_DOMAIN,
    TemplateFileError,
    detect_domain,
    get_template,
    list_domains,
    load_template_file,
    load_templates,
    rank_domains,
)
from agents.templates.loader import catalog_files

DOMAINS = list_domains()


def test_at_least_fifteen_domains() -> None:
    assert len(DOMAINS) >= 15


@pytest.mark.parametrize("domain", DOMAINS)
def test_template_ddl_parses_in_bigquery_dialect(domain: str) -> None:
    template = get_template(domain)
    statements = schema_to_ddl(template.design, f"{domain}_demo", project="demo-project")
    assert len(statements) == len(template.design.tables)
    created = []
    for ddl in statements:
        parsed = sqlglot.parse_one(ddl, read="bigquery")
        assert isinstance(parsed, exp.Create)
        created.append(parsed.find(exp.Table).name)
    # Referenced tables are created before the tables pointing at them.
    for table in template.design.tables:
        for fk in table.foreign_keys:
            assert created.index(fk.references_table) <= created.index(table.name)


@pytest.mark.parametrize("domain", DOMAINS)
def test_golden_queries_pass_the_guard_and_match_the_schema(domain: str) -> None:
    template = get_template(domain)
    assert 4 <= len(template.questions) <= 6
    assert 3 <= len(template.design.tables) <= 5
    policy = SQLPolicy.for_schema(template.design, "acme_demo")  # also validates every column reference
    for query in template.golden_queries_for("acme_demo"):
        guarded = inspect_sql(query.sql, policy)
        assert guarded.tables and all(t.startswith("acme_demo.") for t in guarded.tables)


@pytest.mark.parametrize("domain", DOMAINS)
def test_template_content_is_complete(domain: str) -> None:
    template = get_template(domain)
    assert len(template.keywords) >= 10 and template.entities and template.instructions
    assert all(t.row_count > 0 and t.primary_key for t in template.design.tables)
    spec = template.data_agent_spec("Acme", "acme_demo")
    assert "acme_demo" in spec.instructions and len(spec.golden_queries) == len(template.questions)
    assert len(template.demo_script("Acme").steps) == len(template.demo_outline)


def test_template_golden_query_against_other_dataset_is_refused() -> None:
    template = get_template("ecommerce")
    policy = SQLPolicy.for_schema(template.design, "acme_demo")
    with pytest.raises(ValueError, match="outside the allowed dataset"):
        guard_sql(template.golden_queries_for("other_demo")[0].sql, policy)


def test_detect_domain_without_evidence() -> None:
    assert detect_domain("Lorem ipsum dolor sit amet") == (UNKNOWN_DOMAIN, 0.0)
    assert rank_domains("") == []
    domain, score = detect_domain("Schedule a test drive at our dealership; used cars and trade-in offers")
    assert domain == "automotive_dealership" and 0 < score <= 1


def test_get_template_accepts_loose_names_and_lists_known_ones() -> None:
    assert get_template("Real Estate").name == "real_estate"
    with pytest.raises(KeyError, match="known: "):
        get_template("space_mining")


def _table(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "orders",
        "columns": [{"name": "order_id", "type": "INT64"}, {"name": "customer_id", "type": "INT64"}],
        "primary_key": ["order_id"],
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (_table(name="orders; DROP TABLE x"), "table name"),
        (_table(name="select"), "reserved"),
        (_table(columns=[{"name": "a b", "type": "STRING"}]), "column name"),
        (_table(columns=[{"name": "payload", "type": "STRUCT<x INT64>"}]), "is not one of"),
        (_table(columns=[{"name": "geo", "type": "GEOGRAPHY"}]), "is not one of"),
        (_table(primary_key=["missing"]), "primary key column"),
        (_table(foreign_keys=[{"column": "nope", "references_table": "orders", "references_column": "order_id"}]),
         "foreign key column"),
        (_table(columns=[{"name": "order_id", "type": "INT64"}, {"name": "ORDER_ID", "type": "STRING"}]), "duplicate"),
    ],
)
def test_table_validators(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TableSpec.model_validate(table)


def test_schema_validators_check_references() -> None:
    orders = _table(foreign_keys=[{"column": "customer_id", "references_table": "customers", "references_column": "id"}])
    with pytest.raises(ValidationError, match="unknown table"):
        SchemaDesign.model_validate({"tables": [orders]})
    customers = {"name": "customers", "columns": [{"name": "customer_id", "type": "STRING"}], "primary_key": ["customer_id"]}
    with pytest.raises(ValidationError, match="unknown column"):
        SchemaDesign.model_validate({"tables": [orders, customers]})
    orders["foreign_keys"] = [{"column": "customer_id", "references_table": "customers", "references_column": "customer_id"}]
    with pytest.raises(ValidationError, match="does not match"):
        SchemaDesign.model_validate({"tables": [orders, customers]})


def test_type_aliases_are_normalized_and_ddl_rejects_bad_dataset() -> None:
    assert ColumnSpec(name="n", type="integer").type == "INT64"
    assert ColumnSpec(name="flag", type="boolean").type == "BOOL"
    design = get_template("saas").design
    with pytest.raises(ValueError, match="dataset"):
        schema_to_ddl(design, "demo`; DROP TABLE x; --")
    plain = schema_to_ddl(design, "demo", constraints=False)
    assert all("PRIMARY KEY" not in ddl and "FOREIGN KEY" not in ddl for ddl in plain)


def test_every_template_file_loads_and_ships_as_package_data() -> None:
    files = catalog_files()
    assert [f.name for f in files] == [f"{name}.yaml" for name in DOMAINS]
    assert all(load_template_file(f) == get_template(f.name.removesuffix(".yaml")) for f in files)
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "catalog/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["agents.templates"]


def _ecommerce() -> dict[str, Any]:
    source = next(f for f in catalog_files() if f.name == "ecommerce.yaml")
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return data


def _break_column(data: dict[str, Any]) -> None:
    data["tables"][1]["columns"][2] = "category STRING PQ"


def _drop_title(data: dict[str, Any]) -> None:
    del data["title"]


def _misspell_field(data: dict[str, Any]) -> None:
    data["questions"][0]["questoin"] = data["questions"][0].pop("question")


def _hard_code_dataset(data: dict[str, Any]) -> None:
    data["questions"][2]["sql"] = data["questions"][2]["sql"].replace("{dataset}.", "shop.")


def _dangling_foreign_key(data: dict[str, Any]) -> None:
    data["tables"][2]["columns"][1] = "customer_id INT64 FK shoppers.customer_id"


def _short_question(data: dict[str, Any]) -> None:
    data["questions"][3]["question"] = "Why"


def _negative_rows(data: dict[str, Any]) -> None:
    data["tables"][0]["row_count"] = -5


@pytest.mark.parametrize(
    ("breakage", "names"),
    [
        (_break_column, ["tables.1.columns.2", "unknown flags ['PQ']"]),
        (_drop_title, ["title: Field required"]),
        (_misspell_field, ["questions.0.questoin", "Extra inputs"]),
        (_hard_code_dataset, ["template ecommerce: golden query must use {dataset}"]),
        (_dangling_foreign_key, ["tables: table orders: foreign key customer_id references unknown table 'shoppers'"]),
        (_short_question, ["questions.3.question", "at least 5 characters"]),
        (_negative_rows, ["tables.0.row_count", "greater than or equal to 1"]),
    ],
)
def test_a_malformed_template_file_is_refused_naming_file_template_and_field(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], names: list[str]
) -> None:
    data = _ecommerce()
    breakage(data)
    path = tmp_path / "ecommerce.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(TemplateFileError) as refused:
        load_template_file(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: template 'ecommerce': "), message
    for name in names:
        assert name in message, message


def test_an_unreadable_or_misnamed_template_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\ntables: [\n")
    with pytest.raises(TemplateFileError, match=rf"^{re.escape(str(broken))}: not valid YAML at line 3, column 1: "):
        load_template_file(broken)
    listed = tmp_path / "listed.yaml"
    listed.write_text("- name: listed\n")
    with pytest.raises(TemplateFileError, match=rf"^{re.escape(str(listed))}: a template file holds one mapping"):
        load_template_file(listed)
    misnamed = tmp_path / "shop.yaml"
    misnamed.write_text(yaml.safe_dump(_ecommerce()))
    with pytest.raises(TemplateFileError, match=r"shop\.yaml: template 'ecommerce' must be in a file named ecommerce"):
        load_template_file(misnamed)
    first, second = tmp_path / "a" / "ecommerce.yaml", tmp_path / "b" / "ecommerce.yaml"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(yaml.safe_dump(_ecommerce()))
    with pytest.raises(TemplateFileError, match=r"b/ecommerce\.yaml: duplicate template 'ecommerce' \(also in .*a/"):
        load_templates([first, second])
