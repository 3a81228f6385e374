"""The SQL guard: every query an agent generates passes here before it runs.

A query is accepted only when it is exactly one read-only SELECT (CTEs and set
operations of SELECTs included) over tables the policy lists, with no function that
reaches outside the data (external connections, files, sleeps, session/server
probing, ML/AI calls). The guard returns the query re-rendered by sqlglot (comments
dropped) with a LIMIT added or capped, so what runs is exactly what was checked.

The statement timeout lives in the policy but is applied by the executor:
``bigquery_job_config_kwargs`` (``job_timeout_ms``) and ``postgres_timeout_statement``
(``SET LOCAL statement_timeout``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.tokens import TokenType

log = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("bigquery", "postgres")


class UnsafeSQLError(ValueError):
    """A generated query was refused; ``reason`` is meant for people and for LLM feedback."""

    def __init__(self, reason: str, sql: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sql = sql


@dataclass(frozen=True, eq=False)
class SQLPolicy:
    """What a generated query may read, and how much.

    ``allowed_tables`` holds ``dataset.table`` names (``schema.table`` for PostgreSQL),
    compared case-insensitively; an unqualified table resolves against
    ``default_dataset``. ``columns`` (``dataset.table`` -> {column: type}) enables
    column-level validation against the schema.
    """

    allowed_tables: frozenset[str]
    default_dataset: str | None = None
    project: str | None = None
    dialect: str = "bigquery"
    max_limit: int = 1000
    default_limit: int | None = None
    statement_timeout_ms: int = 30_000
    maximum_bytes_billed: int | None = 1 << 30
    columns: Mapping[str, Mapping[str, str]] | None = None
    allow_comments: bool = False
    max_sql_chars: int = 20_000

    def __post_init__(self) -> None:
        if self.dialect not in SUPPORTED_DIALECTS:
            raise ValueError(f"unsupported dialect {self.dialect!r}; use one of {SUPPORTED_DIALECTS}")
        if self.max_limit < 1:
            raise ValueError("max_limit must be positive")
        normalized = frozenset(t.lower() for t in self.allowed_tables)
        object.__setattr__(self, "allowed_tables", normalized)
        for name in normalized:
            if name.count(".") != 1:
                raise ValueError(f"allowed table {name!r} must be 'dataset.table'")

    @property
    def limit_when_absent(self) -> int:
        return min(self.default_limit or self.max_limit, self.max_limit)

    @property
    def allowed_datasets(self) -> frozenset[str]:
        return frozenset(name.split(".", 1)[0] for name in self.allowed_tables)

    @classmethod
    def for_tables(
        cls, dataset: str, tables: Collection[str] | Mapping[str, Mapping[str, str]], **kwargs: Any
    ) -> SQLPolicy:
        """A policy over one dataset; pass {table: {column: type}} to also validate columns."""
        allowed = frozenset(f"{dataset}.{t}" for t in tables)
        columns = None
        if isinstance(tables, Mapping):
            columns = {f"{dataset}.{t}".lower(): dict(cols) for t, cols in tables.items()}
        return cls(allowed_tables=allowed, default_dataset=dataset, columns=columns, **kwargs)

    @classmethod
    def for_schema(cls, schema: Any, dataset: str, **kwargs: Any) -> SQLPolicy:
        """A policy over a ``agents.schemas.SchemaDesign`` deployed as ``dataset``."""
        tables = {t.name: {c.name: c.type for c in t.columns} for t in schema.tables}
        return cls.for_tables(dataset, tables, **kwargs)


@dataclass(frozen=True)
class GuardedSQL:
    sql: str
    tables: tuple[str, ...]
    limit: int
    limit_added: bool = False
    limit_capped: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


# Statement kinds that never belong in a generated analytics query, wherever they appear.
_FORBIDDEN_NODES: dict[str, str] = {
    name: label
    for name, label in {
        "Insert": "INSERT",
        "Update": "UPDATE",
        "Delete": "DELETE",
        "Merge": "MERGE",
        "Create": "CREATE",
        "Drop": "DROP",
        "Alter": "ALTER",
        "TruncateTable": "TRUNCATE",
        "Grant": "GRANT",
        "Revoke": "REVOKE",
        "Copy": "COPY",
        "LoadData": "LOAD DATA",
        "Export": "EXPORT DATA",
        "Declare": "DECLARE",
        "Set": "SET",
        "Execute": "EXECUTE",
        "Command": "command",
        "Transaction": "BEGIN TRANSACTION",
        "Commit": "COMMIT",
        "Rollback": "ROLLBACK",
        "Use": "USE",
        "Describe": "DESCRIBE",
        "Pragma": "PRAGMA",
        "Kill": "KILL",
        "Analyze": "ANALYZE",
        "Cache": "CACHE",
        "Uncache": "UNCACHE",
        "Refresh": "REFRESH",
        "Show": "SHOW",
        "Summarize": "SUMMARIZE",
        "Attach": "ATTACH",
        "Detach": "DETACH",
        "Install": "INSTALL",
        "Into": "SELECT INTO",
        "Lock": "FOR UPDATE/SHARE locking",
    }.items()
    if hasattr(exp, name)
}
_FORBIDDEN_TYPES = tuple(getattr(exp, name) for name in _FORBIDDEN_NODES)

# Function names (lower case) refused in any dialect: reaching outside the dataset,
# probing the server/session, sleeping, touching files or configuration.
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        # BigQuery
        "external_query", "external_object_transform", "session_user", "appends", "changes",
        "vector_search", "predict", "generate_text", "generate_embedding", "generate_table",
        "ml_forecast", "ml_translate",
        # PostgreSQL
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_read_file", "pg_read_binary_file",
        "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export", "dblink", "dblink_exec",
        "set_config", "current_setting", "query_to_xml", "query_to_xml_and_xmlschema",
        "query_to_xmlschema", "table_to_xml", "schema_to_xml", "database_to_xml", "cursor_to_xml",
        "version", "current_version", "current_user", "current_role", "current_database",
        "current_schema", "current_schemas", "current_catalog", "user", "inet_server_addr",
        "inet_server_port", "inet_client_addr", "nextval", "setval", "currval",
        "generate_series", "exploding_generate_series", "explodinggenerateseries", "generateseries",
        # generic / other engines
        "sleep", "benchmark", "load_file", "system_user",
    }
)
_FORBIDDEN_PREFIXES = ("pg_", "lo_", "dblink", "has_", "txid_", "ai_", "ml_", "ai.", "ml.")
# BigQuery function namespaces that are pure computation.
_ALLOWED_NAMESPACES = frozenset({"safe", "net", "hll_count", "kll_quantiles"})
# Bare keywords PostgreSQL evaluates as session functions (parsed as columns by sqlglot).
_POSTGRES_SESSION_KEYWORDS = frozenset(
    {"user", "current_user", "session_user", "current_role", "current_catalog", "current_schema"}
)
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast", "__tables__", "__tables_summary__")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _refuse(reason: str, sql: str | None = None) -> UnsafeSQLError:
    return UnsafeSQLError(reason, sql)


def _check_text(sql: str, max_chars: int) -> None:
    if not isinstance(sql, str) or not sql.strip():
        raise _refuse("empty SQL")
    if len(sql) > max_chars:
        raise _refuse(f"SQL is too long ({len(sql)} characters, at most {max_chars})")
    for ch in sql:
        if ch in "\t\n\r":
            continue
        category = unicodedata.category(ch)
        # Invisible characters can make reviewed text differ from what the parser sees.
        if category in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            raise _refuse(f"SQL contains an invisible or control character (U+{ord(ch):04X})")


def _check_tokens(sql: str, dialect: str, allow_comments: bool) -> None:
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except (TokenError, SqlglotError) as error:
        raise _refuse(f"unparsable SQL: {_ANSI.sub('', str(error))}", sql) from error
    semicolons = [i for i, token in enumerate(tokens) if token.token_type == TokenType.SEMICOLON]
    if len(semicolons) > 1 or (semicolons and semicolons[0] != len(tokens) - 1):
        raise _refuse("stacked statements: exactly one statement is allowed", sql)
    comments = [c for token in tokens for c in token.comments]
    if not comments:
        return
    if not allow_comments:
        raise _refuse("SQL comments are not allowed in generated queries (they can hide code from review)", sql)
    for comment in comments:
        if ";" in comment or comment.lstrip().startswith(("!", "+")) or "/*" in comment:
            raise _refuse("suspicious SQL comment (hint, nested or executable comment)", sql)


def _parse_one(sql: str, dialect: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first else ""
        message = first.get("description") or _ANSI.sub("", str(error))
        raise _refuse(f"unparsable SQL: {message}{where}", sql) from error
    except (TokenError, SqlglotError) as error:
        raise _refuse(f"unparsable SQL: {_ANSI.sub('', str(error))}", sql) from error
    if len(statements) != 1:
        raise _refuse(f"exactly one statement is allowed, got {len(statements)}", sql)
    return statements[0]


def _statement_label(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    label = _FORBIDDEN_NODES.get(type(node).__name__)
    if label:
        return label
    if isinstance(node, exp.Values):
        return "VALUES"
    return f"an unsupported statement ({type(node).__name__})"


def _function_names(node: exp.Func) -> set[str]:
    names = {type(node).__name__.lower()}
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    else:
        with contextlib.suppress(AttributeError, NotImplementedError):
            names.add(node.sql_name().lower())
    return names


def _is_forbidden_function(names: set[str]) -> str | None:
    for name in sorted(names):
        if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
            return name
    return None


def _check_structure(root: exp.Expr, sql: str, dialect: str) -> exp.Query:
    """Read-only shape and forbidden constructs; returns the query root."""
    while isinstance(root, exp.Subquery) and isinstance(root.this, exp.Query):
        root = root.this
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise _refuse(f"only a read-only SELECT is allowed, got {_statement_label(root)}", sql)
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_TYPES):
            raise _refuse(f"{_statement_label(node)} is not allowed in a read-only query", sql)
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise _refuse("recursive CTEs are not allowed", sql)
        if isinstance(node, exp.Parameter | exp.Placeholder | exp.SessionParameter):
            raise _refuse(
                "system variables and query parameters (@@x, @x, $1) are not allowed in generated SQL", sql
            )
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            target = node.this.sql(dialect) if node.this is not None else "?"
            raise _refuse(f"table functions are not allowed in FROM: {target[:60]}", sql)
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            namespace = node.this.sql(dialect).strip("`\"").lower()
            if namespace not in _ALLOWED_NAMESPACES:
                called = f"{namespace}.{node.expression.sql_name() if not isinstance(node.expression, exp.Anonymous) else node.expression.name}"
                raise _refuse(f"function {called} is not allowed (namespaced or user-defined function)", sql)
        if isinstance(node, exp.Func):
            bad = _is_forbidden_function(_function_names(node))
            if bad:
                raise _refuse(f"function {bad.upper()} is not allowed", sql)
        if (
            dialect == "postgres"
            and isinstance(node, exp.Column)
            and not node.table
            and not node.this.args.get("quoted")
            and node.name.lower() in _POSTGRES_SESSION_KEYWORDS
        ):
            raise _refuse(f"session function {node.name.upper()} is not allowed", sql)
    return root


def _table_refs(root: exp.Query) -> list[exp.Table]:
    cte_names = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    refs = []
    for table in root.find_all(exp.Table):
        if not table.args.get("db") and not table.args.get("catalog") and table.name.lower() in cte_names:
            continue
        refs.append(table)
    return refs


def _check_system_catalog(table: exp.Table, dialect: str, sql: str) -> None:
    parts = [p.lower() for p in (table.catalog, table.db, table.name) if p]
    for part in parts:
        pieces = part.split(".")
        if any(piece in _SYSTEM_SCHEMAS for piece in pieces) or (
            dialect == "postgres" and any(piece.startswith("pg_") for piece in pieces)
        ):
            raise _refuse("system catalogs (INFORMATION_SCHEMA, pg_catalog) are not allowed", sql)


def _check_tables(root: exp.Query, policy: SQLPolicy, sql: str) -> tuple[str, ...]:
    seen: list[str] = []
    for table in _table_refs(root):
        _check_system_catalog(table, policy.dialect, sql)
        display = table.sql(policy.dialect)
        catalog = table.catalog.lower()
        if catalog and (not policy.project or catalog != policy.project.lower()):
            raise _refuse(f"cross-project table {display} is not allowed", sql)
        dataset = (table.db or policy.default_dataset or "").lower()
        if not dataset:
            raise _refuse(f"table {display} must be qualified with its dataset", sql)
        key = f"{dataset}.{table.name.lower()}"
        if key not in policy.allowed_tables:
            if dataset not in policy.allowed_datasets:
                raise _refuse(
                    f"table {display} is outside the allowed dataset(s) {sorted(policy.allowed_datasets)}", sql
                )
            allowed = sorted(t.split(".", 1)[1] for t in policy.allowed_tables if t.startswith(dataset + "."))
            raise _refuse(f"unknown table {display}; allowed tables: {', '.join(allowed)}", sql)
        if key not in seen:
            seen.append(key)
    return tuple(seen)


def _check_columns(root: exp.Query, policy: SQLPolicy, sql: str) -> None:
    if not policy.columns:
        return
    from sqlglot.optimizer.qualify import qualify

    schema: dict[str, Any] = {}  # dataset -> table -> column -> type, as qualify() takes it
    for name, columns in policy.columns.items():
        dataset, table = name.lower().split(".", 1)
        schema.setdefault(dataset, {})[table] = dict(columns)
    try:
        qualify(
            root.copy(),
            schema=schema,
            dialect=policy.dialect,
            db=policy.default_dataset.lower() if policy.default_dataset else None,
            validate_qualify_columns=True,
            identify=False,
        )
    except (OptimizeError, SqlglotError) as error:
        raise _refuse(f"invalid column reference: {_ANSI.sub('', str(error))}", sql) from error


def _apply_limit(root: exp.Query, policy: SQLPolicy, sql: str) -> tuple[exp.Query, int, bool, bool]:
    limit_node = root.args.get("limit")
    if limit_node is None:
        n = policy.limit_when_absent
        return root.limit(n, copy=False), n, True, False
    value_node = limit_node.args.get("count") if isinstance(limit_node, exp.Fetch) else limit_node.expression
    if not isinstance(value_node, exp.Literal) or value_node.is_string or not str(value_node.this).isdigit():
        raise _refuse("LIMIT must be a plain integer literal", sql)
    value = int(value_node.this)
    if value <= policy.max_limit:
        return root, value, False, False
    value_node.replace(exp.Literal.number(policy.max_limit))
    return root, policy.max_limit, False, True


def check_read_only(sql: str, dialect: str = "bigquery", *, allow_comments: bool = False) -> None:
    """Structural checks only (no table allow-list, no LIMIT): for validating LLM output early."""
    _check_text(sql, 20_000)
    _check_tokens(sql, dialect, allow_comments)
    root = _check_structure(_parse_one(sql, dialect), sql, dialect)
    for table in _table_refs(root):
        _check_system_catalog(table, dialect, sql)


def inspect_sql(sql: str, policy: SQLPolicy) -> GuardedSQL:
    """Check ``sql`` against ``policy``; the normalized query plus what the guard found or changed."""
    _check_text(sql, policy.max_sql_chars)
    _check_tokens(sql, policy.dialect, policy.allow_comments)
    root = _check_structure(_parse_one(sql, policy.dialect), sql, policy.dialect)
    tables = _check_tables(root, policy, sql)
    _check_columns(root, policy, sql)
    root, limit, added, capped = _apply_limit(root, policy, sql)
    normalized = root.sql(dialect=policy.dialect, comments=False)
    notes = []
    if added:
        notes.append(f"LIMIT {limit} added")
    if capped:
        notes.append(f"LIMIT capped to {limit}")
    return GuardedSQL(normalized, tables, limit, added, capped, tuple(notes))


def guard_sql(sql: str, policy: SQLPolicy) -> str:
    """The normalized, limited query, or ``UnsafeSQLError`` with a human-readable reason."""
    try:
        return inspect_sql(sql, policy).sql
    except UnsafeSQLError as error:
        log.info("SQL refused: %s", error.reason)
        raise


def bigquery_job_config_kwargs(policy: SQLPolicy) -> dict[str, Any]:
    """Arguments for ``google.cloud.bigquery.QueryJobConfig`` enforcing the policy's limits."""
    kwargs: dict[str, Any] = {"job_timeout_ms": policy.statement_timeout_ms, "use_legacy_sql": False}
    if policy.maximum_bytes_billed:
        kwargs["maximum_bytes_billed"] = policy.maximum_bytes_billed
    return kwargs


def bigquery_job_config(policy: SQLPolicy) -> Any:
    """A ``QueryJobConfig`` with the policy's timeout and byte cap."""
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(**bigquery_job_config_kwargs(policy))


def postgres_timeout_statement(policy: SQLPolicy) -> str:
    """Run inside the query's transaction: the timeout ends with it (``SET LOCAL``)."""
    return f"SET LOCAL statement_timeout = {int(policy.statement_timeout_ms)}"


def apply_postgres_timeout(cursor: Any, policy: SQLPolicy) -> None:
    """Make the current transaction read-only and bounded before running a guarded query."""
    cursor.execute("SET TRANSACTION READ ONLY")
    cursor.execute(postgres_timeout_statement(policy))
