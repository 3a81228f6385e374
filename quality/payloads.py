"""Payload shapes: one JSON Schema per JSON payload column, compiled to a SQL predicate.

The schemas are data (``quality/payload_schemas/<table>.<column>.json``) and describe what
the app writes. ``shape_sql`` turns a schema into a predicate over a ``jsonb`` expression,
so the shape is checked inside PostgreSQL in the same single pass as every other rule (no
row leaves the database to be validated). The compiler covers the subset of JSON Schema
the payload schemas use; anything else is refused when the rules are built, never ignored:

``type`` (one name or a list), ``enum``, ``required``, ``properties``,
``additionalProperties: false``, ``items``, ``minItems``/``maxItems``,
``minimum``/``maximum``, ``minLength``/``maxLength``, and the annotations ``$comment``,
``title``, ``description``.

``tests/quality/test_payload_shapes.py`` checks the compiled SQL against the
``jsonschema`` library on generated documents.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).with_name("payload_schemas")
_ANNOTATIONS = {"$comment", "$schema", "title", "description"}
_SUPPORTED = {"type", "enum", "required", "properties", "additionalProperties", "items", "minItems", "maxItems",
              "minimum", "maximum", "minLength", "maxLength"} | _ANNOTATIONS
# JSON Schema type name -> jsonb_typeof() value ("integer" is a number without a fraction)
_JSONB_TYPES = {"object": "object", "array": "array", "string": "string", "number": "number",
                "integer": "number", "boolean": "boolean", "null": "null"}


class UnsupportedSchemaError(ValueError):
    """A payload schema uses a keyword the SQL compiler does not implement."""


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _jsonb(value: Any) -> str:
    return f"{_text(json.dumps(value))}::jsonb"


def _is(expr: str, kind: str) -> str:
    return f"jsonb_typeof({expr}) = {_text(_JSONB_TYPES[kind])}"


def _when(expr: str, kind: str, predicate: str) -> str:
    """``predicate`` for values of ``kind``; other values pass (keywords apply to their own type only).
    CASE, not AND: PostgreSQL may evaluate AND operands in any order, and a cast of the wrong type raises."""
    return f"(CASE WHEN {_is(expr, kind)} THEN {predicate} ELSE TRUE END)"


def _type_sql(expr: str, names: list[str]) -> str:
    parts = []
    for name in names:
        if name not in _JSONB_TYPES:
            raise UnsupportedSchemaError(f"unknown JSON Schema type {name!r}")
        if name == "integer":
            parts.append(f"(CASE WHEN {_is(expr, 'number')} THEN ({expr})::numeric = trunc(({expr})::numeric) "
                         "ELSE FALSE END)")
        else:
            parts.append(_is(expr, name))
    return "(" + " OR ".join(parts) + ")"


def shape_sql(schema: dict[str, Any] | bool, expr: str, depth: int = 0) -> str:
    """A predicate, never NULL, true when the jsonb value ``expr`` conforms to ``schema``."""
    if schema is True or schema == {}:
        return "TRUE"
    if schema is False:
        return "FALSE"
    assert isinstance(schema, dict)
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise UnsupportedSchemaError(f"payload schema keyword(s) {sorted(unknown)} are not compiled to SQL")
    parts: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        parts.append(_type_sql(expr, names))
    if "enum" in schema:
        parts.append(f"({expr} = ANY(ARRAY[{', '.join(_jsonb(v) for v in schema['enum'])}]))")
    number = f"({expr})::numeric"
    if "minimum" in schema:
        parts.append(_when(expr, "number", f"{number} >= {schema['minimum']!r}"))
    if "maximum" in schema:
        parts.append(_when(expr, "number", f"{number} <= {schema['maximum']!r}"))
    if "minLength" in schema:
        parts.append(_when(expr, "string", f"char_length({expr} #>> '{{}}') >= {int(schema['minLength'])}"))
    if "maxLength" in schema:
        parts.append(_when(expr, "string", f"char_length({expr} #>> '{{}}') <= {int(schema['maxLength'])}"))
    if "minItems" in schema:
        parts.append(_when(expr, "array", f"jsonb_array_length({expr}) >= {int(schema['minItems'])}"))
    if "maxItems" in schema:
        parts.append(_when(expr, "array", f"jsonb_array_length({expr}) <= {int(schema['maxItems'])}"))
    if "items" in schema:
        item = f"i{depth}.value"
        inner = shape_sql(schema["items"], item, depth + 1)
        every_item = f"NOT EXISTS (SELECT 1 FROM jsonb_array_elements({expr}) AS i{depth} WHERE NOT {inner})"  # noqa: S608
        parts.append(_when(expr, "array", every_item))
    for key in schema.get("required", []):
        parts.append(_when(expr, "object", f"({expr} ? {_text(key)})"))
    for key, sub in schema.get("properties", {}).items():
        inner = shape_sql(sub, f"({expr} -> {_text(key)})", depth + 1)
        if inner != "TRUE":
            parts.append(_when(expr, "object", f"(CASE WHEN {expr} ? {_text(key)} THEN {inner} ELSE TRUE END)"))
    extra = schema.get("additionalProperties", True)
    if extra is not True:
        if extra is not False:
            raise UnsupportedSchemaError("additionalProperties must be true or false")
        known = ", ".join(_text(k) for k in schema.get("properties", {})) or "NULL"
        no_other_key = (f"NOT EXISTS (SELECT 1 FROM jsonb_object_keys({expr}) AS k{depth}(key) "  # noqa: S608
                        f"WHERE k{depth}.key NOT IN ({known}))")
        parts.append(_when(expr, "object", no_other_key))
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


@cache
def payload_schema(table: str, column: str) -> dict[str, Any]:
    """The JSON Schema of ``table.column`` (``quality/payload_schemas/<table>.<column>.json``)."""
    path = SCHEMA_DIR / f"{table}.{column}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    shape_sql(schema, "x")  # refuse an unsupported keyword when the rules are built
    return schema


def schema_files() -> list[tuple[str, str]]:
    """(table, column) of every payload schema on disk."""
    return sorted(tuple(p.stem.split(".", 1)) for p in SCHEMA_DIR.glob("*.json"))  # type: ignore[misc]
