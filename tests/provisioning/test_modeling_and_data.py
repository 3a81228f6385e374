"""Schema checks an LLM answer must pass, and synthetic data that respects the schema (no database needed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from agents.provisioning.modeling import check_design, parse_ddl
from agents.provisioning.synthetic import generate_dataset
from agents.schemas import SchemaDesign
from agents.templates import get_template, list_domains


@pytest.mark.parametrize("domain", list_domains())
def test_synthetic_data_respects_types_keys_and_references(domain: str, tmp_path: Path) -> None:
    design = get_template(domain).design
    check_design(design, "demo_1")  # every template passes the checks LLM answers must pass
    files = generate_dataset(design, tmp_path, request_id=7, anchor=date(2025, 6, 1), row_scale=0.05)
    tables = {name: pq.read_table(data.path) for name, data in files.items()}
    for spec in design.tables:
        data = tables[spec.name]
        assert data.num_rows == files[spec.name].rows > 0
        assert data.column_names == [c.name for c in spec.columns]
        (key,) = spec.primary_key
        assert pc.count_distinct(data.column(key)).as_py() == data.num_rows and data.column(key).null_count == 0
        for column in spec.columns:
            values = data.column(column.name)
            if not column.nullable:
                assert values.null_count == 0, column.name
            if column.values and column.type == "STRING":
                assert set(values.drop_null().to_pylist()) <= set(column.values)
            if column.min is not None and column.type in ("INT64", "FLOAT64") and not spec.foreign_keys:
                assert pc.min(values).as_py() >= column.min and pc.max(values).as_py() <= column.max
        for fk in spec.foreign_keys:
            parents = set(tables[fk.references_table].column(fk.references_column).to_pylist())
            assert set(data.column(fk.column).to_pylist()) <= parents, f"{spec.name}.{fk.column} has orphans"


def test_the_same_request_regenerates_the_same_bytes(tmp_path: Path) -> None:
    design = get_template("fintech").design
    first = generate_dataset(design, tmp_path / "a", request_id=11, anchor=date(2025, 6, 1), row_scale=0.01)
    second = generate_dataset(design, tmp_path / "b", request_id=11, anchor=date(2025, 6, 1), row_scale=0.01)
    other = generate_dataset(design, tmp_path / "c", request_id=12, anchor=date(2025, 6, 1), row_scale=0.01)
    for name in first:
        assert pq.read_table(first[name].path).equals(pq.read_table(second[name].path))
    assert not all(pq.read_table(first[n].path).equals(pq.read_table(other[n].path)) for n in first)


def _design(**changes: object) -> SchemaDesign:
    data = get_template("saas").design.model_dump()
    data["tables"][0].update(changes)
    return SchemaDesign.model_validate(data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"primary_key": []}, "exactly one primary key"),
        ({"row_count": 900_000}, "row_count"),
        ({"description": "Accounts'); DROP TABLE users; --"}, "must not contain SQL statements"),
        ({"description": "then INSERT INTO accounts VALUES (1)"}, "must not contain SQL statements"),
    ],
)
def test_a_design_an_llm_must_not_get_away_with(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_design(_design(**changes))


def test_ddl_must_be_one_create_table_per_statement() -> None:
    parse_ddl(["CREATE TABLE IF NOT EXISTS `demo.t` (`id` INT64 NOT NULL)"])
    with pytest.raises(ValueError, match="one CREATE TABLE"):
        parse_ddl(["CREATE TABLE `demo.t` (`id` INT64); DROP TABLE `demo.u`"])
    with pytest.raises(ValueError, match="one CREATE TABLE"):
        parse_ddl(["INSERT INTO `demo.t` VALUES (1)"])
