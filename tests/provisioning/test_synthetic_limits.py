"""A hostile schema (website text reaches the modeling prompt) cannot make the synthetic generator exhaust memory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest
from pydantic import ValidationError

from agents.provisioning.synthetic import (
    MAX_VALUE_BYTES,
    SyntheticDataTooLarge,
    generate_dataset,
    generate_table,
)
from agents.schemas import FAKER_PROVIDERS, ColumnSpec, SchemaDesign, TableSpec
from agents.templates import get_template, list_domains

ANCHOR = date(2025, 6, 1)


@pytest.mark.parametrize("provider", ["binary", "pystr", "json", "zip", "tar", "image", "__class__", "seed"])
def test_faker_providers_outside_the_allow_list_are_refused_by_the_schema(provider: str) -> None:
    with pytest.raises(ValidationError, match="is not allowed for STRING columns; use one of: .*email"):
        ColumnSpec(name="payload", type="STRING", faker=provider)


def test_a_faker_provider_on_a_non_string_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="STRING columns only"):
        ColumnSpec(name="amount", type="INT64", faker="random_int")


def test_allowed_providers_are_normalised_and_every_template_uses_them() -> None:
    assert ColumnSpec(name="email", type="STRING", faker=" Email ").faker == "email"
    for domain in list_domains():
        for table in get_template(domain).design.tables:
            for column in table.columns:
                assert column.faker is None or column.faker in FAKER_PROVIDERS[column.type], (domain, column)


def test_over_long_categorical_values_are_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError, match="at most 256 characters"):
        ColumnSpec(name="status", type="STRING", values=["x" * 100_000])


def _hostile_table(rows: int, **column: object) -> TableSpec:
    """A table as an unvalidated answer would build it (``model_construct`` skips every validator)."""
    key = ColumnSpec(name="id", type="INT64", nullable=False)
    fields: dict[str, object] = {"name": "payload", "type": "STRING", "description": "", "nullable": True,
                                 "values": None, "min": None, "max": None, "faker": None, **column}
    payload = ColumnSpec.model_construct(**fields)  # type: ignore[arg-type]
    return TableSpec.model_construct(name="blobs", description="", columns=[key, payload], primary_key=["id"],
                                     foreign_keys=[], row_count=rows)


def test_a_huge_faker_provider_that_escaped_validation_yields_bounded_values() -> None:
    # faker="binary" is ~1 MB per value (its str() ~4 MB): a pool of 2,000 of them is gigabytes.
    data = generate_table(_hostile_table(5, faker="binary"), 5, request_id=1, anchor=ANCHOR, parents={})
    lengths = pc.binary_length(pc.cast(data.column("payload"), "binary")).to_pylist()
    assert max(lengths) <= MAX_VALUE_BYTES


def test_huge_categorical_values_are_cut_to_the_value_cap() -> None:
    data = generate_table(_hostile_table(50, values=["é" * 200_000, "b" * 300_000]), 50, request_id=1,
                          anchor=ANCHOR, parents={})
    lengths = pc.binary_length(pc.cast(data.column("payload"), "binary")).to_pylist()
    assert 0 < max(lengths) <= MAX_VALUE_BYTES
    assert all(v.decode() for v in pc.cast(data.column("payload"), "binary").to_pylist())  # still valid UTF-8


def test_a_table_over_the_byte_cap_is_refused_before_it_is_built(tmp_path: Path) -> None:
    table = _hostile_table(20_000, values=["v" * 10_000])
    design = SchemaDesign.model_construct(tables=[table], rationale="")
    with pytest.raises(SyntheticDataTooLarge, match="blobs.*more than 1,000,000 bytes"):
        generate_dataset(design, tmp_path, request_id=1, anchor=ANCHOR, max_table_bytes=1_000_000)
    assert not (tmp_path / "blobs.parquet").exists()
