"""The rules generated from the schema: finiteness of every number, declared timestamp orders, payload shapes."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.catalog import SOURCE_TABLES, SOURCE_TABLES_BY_NAME
from foundation.settings import Settings
from orchestration.db.migrate import upgrade
from quality.payloads import payload_schema, schema_files, shape_sql
from quality.rules import NATURAL_ORDERS, RAW_SUITES, UNORDERED_TIMESTAMPS, finite
from tests.dbt_helpers import mart_model_keys
from tests.defs_helpers import domain_defs
from tests.quality.conftest import ScratchStack


def test_the_finite_rule_takes_every_numeric_column_of_the_relation() -> None:
    columns = {"id": "bigint", "rating": "numeric(3,2)", "revenue": "numeric", "loss": "real",
               "score": "double precision", "name": "text", "count": "integer"}
    rule = finite().bind(columns)
    assert rule.columns == ("rating", "revenue", "loss", "score")
    sql = rule.violation_sql("t", RAW_SUITES["tasks"])
    assert all(f't."{c}" IN (\'NaN\', \'Infinity\', \'-Infinity\')' in sql for c in rule.columns)
    assert finite().bind({"id": "bigint"}).violation_sql(None, RAW_SUITES["tasks"]) == "FALSE"
    with pytest.raises(ValueError, match="bind"):
        finite().violation_sql(None, RAW_SUITES["tasks"])  # never silently unchecked


def test_every_raw_table_and_every_mart_has_the_finite_check() -> None:
    assert all(suite.rule("numbers_finite") for suite in RAW_SUITES.values())
    checks = {(tuple(s.asset_key.path), s.name) for c in domain_defs("quality").asset_checks for s in c.check_specs}
    marts = [k for k in domain_defs("marts").resolve_asset_graph().get_all_asset_keys()
             if k.path[0] in ("marts", "ml_features")]
    assert {tuple(k.path) for k in marts} == mart_model_keys()
    assert [k for k in marts if (tuple(k.path), "numbers_finite") not in checks] == []


def test_every_table_with_two_timestamps_declares_its_orders(scratch: ScratchStack) -> None:
    upgrade(scratch.app_dsn)
    with psycopg.connect(scratch.app_dsn) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                            "'public' AND data_type LIKE 'timestamp%' ORDER BY 1, ordinal_position").fetchall()
    timestamps: dict[str, list[str]] = {}
    for table, column in rows:
        if table in SOURCE_TABLES_BY_NAME:
            timestamps.setdefault(table, []).append(column)
    undeclared = [t for t, cols in timestamps.items()
                  if len(cols) > 1 and t not in NATURAL_ORDERS and t not in UNORDERED_TIMESTAMPS]
    assert undeclared == []
    for table, orders in NATURAL_ORDERS.items():
        for order in orders:
            assert {order.earlier, order.later} <= set(timestamps[table]), (table, order)
            assert order.rule().name in {r.name for r in RAW_SUITES[table].rules}


def test_every_json_payload_column_has_a_schema_and_a_rule(scratch: ScratchStack) -> None:
    upgrade(scratch.app_dsn)
    with psycopg.connect(scratch.app_dsn) as conn:
        jsonb = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('json', 'jsonb')").fetchall() if t in SOURCE_TABLES_BY_NAME}
    # the text columns the app fills with JSON (their valid_json rule says so)
    text = {(s.name, r.column) for s in RAW_SUITES.values() for r in s.rules if r.kind == "valid_json"}
    assert set(schema_files()) == jsonb | text
    for table, column in jsonb | text:
        assert RAW_SUITES[table].rule(f"{column}_shape").kind == "json_shape"
    assert {t.name for t in SOURCE_TABLES} >= {t for t, _ in schema_files()}


_KEYS = sorted({k for t, c in schema_files() for k in payload_schema(t, c).get("properties", {})})
_SCALARS = (st.none() | st.booleans() | st.integers(-5, 50) | st.floats(-10, 60, allow_nan=False)
            | st.sampled_from(["web", "api", "slack", "email", "fax", "low", "normal", "high", "", "1"]))
_KEY_TEXT = st.sampled_from(_KEYS) | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=2)  # jsonb: no NUL, no lone surrogate
DOCUMENTS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(_KEY_TEXT, inner, max_size=5), max_leaves=12)


@pytest.fixture(scope="module")
def warehouse_conn(platform: Settings) -> Any:
    with psycopg.connect(platform.warehouse_dsn, autocommit=True) as conn:  # type: ignore[arg-type]
        yield conn


@pytest.mark.parametrize(("table", "column"), schema_files())
def test_the_sql_shape_check_agrees_with_jsonschema(table: str, column: str, warehouse_conn: Any) -> None:
    schema = payload_schema(table, column)
    predicate = shape_sql(schema, "%(doc)s::jsonb")
    validator = jsonschema.Draft202012Validator(schema)

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(document=DOCUMENTS)
    def agrees(document: Any) -> None:
        in_sql = warehouse_conn.execute(f"SELECT {predicate}", {"doc": json.dumps(document)}).fetchone()[0]
        assert in_sql is validator.is_valid(document), (document, in_sql)

    agrees()
