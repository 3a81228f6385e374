"""Safe handling of the relation and column names that ``train`` receives.

Names are validated against a strict identifier pattern (hostile input never reaches
SQL), resolved through ``pg_catalog`` (tables, views, materialized views, foreign and
partitioned tables), and always quoted with ``psycopg.sql.Identifier`` afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ml.errors import InvalidColumnError, InvalidRelationError

# PostgreSQL identifiers as people write them unquoted, plus mixed case; no quotes,
# dots, whitespace or semicolons, at most NAMEDATALEN - 1 bytes.
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")

NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "oid"})
BOOL_TYPES = frozenset({"bool"})
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "citext"})


def validate_identifier(name: str, what: str = "identifier") -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidRelationError(f"invalid {what} {name!r}: expected letters, digits and underscores")
    return name


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # pg_type.typname, e.g. int4, float8, text
    nullable: bool
    position: int

    @property
    def kind(self) -> str:
        """numeric | bool | text | unsupported: how the engine reads the column."""
        if self.pg_type in NUMERIC_TYPES:
            return "numeric"
        if self.pg_type in BOOL_TYPES:
            return "bool"
        if self.pg_type in TEXT_TYPES:
            return "text"
        return "unsupported"


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def column(self, name: str, project: str | None = None) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        where = f"project `{project}`: " if project else ""
        raise InvalidColumnError(
            f"{where}column `{name}` not found in relation `{self.qualified}` "
            f"(columns: {', '.join(c.name for c in self.columns)})"
        )


def split_relation_name(relation_name: str) -> tuple[str | None, str]:
    if not isinstance(relation_name, str) or not relation_name:
        raise InvalidRelationError(f"invalid relation name {relation_name!r}")
    parts = relation_name.split(".")
    if len(parts) > 2:
        raise InvalidRelationError(
            f'relation name "{relation_name}" is not parsable into schema name and table name'
        )
    for part in parts:
        validate_identifier(part, "relation name part")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def resolve_relation(conn: psycopg.Connection, relation_name: str) -> Relation:
    """Look the relation up; an unqualified name resolves through the search_path like SQL does."""
    schema, name = split_relation_name(relation_name)
    regclass = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    row = conn.execute(
        sql.SQL(
            "SELECT n.nspname, c.relname, c.oid FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(%s) AND c.relkind IN ('r', 'v', 'm', 'f', 'p')"
        ),
        (regclass.as_string(conn),),
    ).fetchone()
    if row is None:
        raise InvalidRelationError(f'relation "{relation_name}" does not exist (or is not a table or view)')
    nspname, relname, oid = row
    rows = conn.execute(
        "SELECT a.attname, t.typname, NOT a.attnotnull, a.attnum FROM pg_attribute a "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (oid,),
    ).fetchall()
    columns = tuple(Column(n, t, bool(nullable), i) for i, (n, t, nullable, _) in enumerate(rows))
    return Relation(schema=nspname, name=relname, columns=columns)
