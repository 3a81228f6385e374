"""The SQL guard: every query an agent generates passes here before it runs.

A query is accepted only when it has an allowed shape and calls only allowed functions:

- shape: exactly one read-only SELECT (CTEs and set operations of SELECTs included)
  reading from tables the policy lists, subqueries and ``UNNEST`` (no ``VALUES``,
  ``LATERAL``, table functions, DDL/DML/commands anywhere);
- functions: an allow-list per dialect (``sql_allowlist.py``); anything else, however
  harmless its name sounds, is refused, on top of a blocklist kept for clear messages
  (sleeps, files, session/server probing, external connections, ML/AI calls);
- cost caps the guard can check statically: every join has a join predicate (``ON``
  with a column, or ``USING``) unless it joins ``UNNEST`` or a one-row subquery, so no
  cartesian product; at most ``CostLimits.max_joins`` joins; ``REPEAT``/``LPAD``/``RPAD``
  counts and ``GENERATE_ARRAY``/``GENERATE_DATE_ARRAY`` bounds are literals within limits.

The guard returns the query re-rendered by sqlglot (comments dropped) with a LIMIT added
or capped, so what runs is exactly what was checked. What a static check cannot bound
(a correlated subquery over a big table) is left to the statement timeout, which lives in
the policy and is applied by the executor: ``bigquery_job_config_kwargs``
(``job_timeout_ms``; ``agents.tools.bigquery_query.run_query`` also abandons the job
client-side, since an emulator may ignore it) and ``postgres_timeout_statement`` (``SET LOCAL statement_timeout``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.tokens import TokenType

from agents.guards.sql_allowlist import ANONYMOUS_FUNCTIONS, FUNCTION_CLASSES

log = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("bigquery", "postgres")


class UnsafeSQLError(ValueError):
    """A generated query was refused; ``reason`` is meant for people and for LLM feedback."""

    def __init__(self, reason: str, sql: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sql = sql


@dataclass(frozen=True)
class CostLimits:
    """What one generated query may make the engine do, as far as the text shows it."""

    max_joins: int = 8
    max_repeat: int = 1000  # REPEAT count, LPAD/RPAD length
    max_generated: int = 10_000  # GENERATE_ARRAY elements, GENERATE_DATE_ARRAY days


DEFAULT_COST_LIMITS = CostLimits()


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
    cost_limits: CostLimits = DEFAULT_COST_LIMITS

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
        "exploding_generate_series", "explodinggenerateseries",
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


def _function_label(node: exp.Func, dialect: str) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return node.sql(dialect).split("(", 1)[0].strip().upper()[:40] or type(node).__name__.upper()


def _check_function_allowed(node: exp.Func, sql: str, dialect: str) -> None:
    # AND / OR / XOR are sqlglot Funcs, but operators, not calls.
    if isinstance(node, exp.Connector) or type(node).__name__ in FUNCTION_CLASSES[dialect]:
        return
    if isinstance(node, exp.Anonymous) and str(node.name).upper() in ANONYMOUS_FUNCTIONS[dialect]:
        return
    raise _refuse(
        f"function {_function_label(node, dialect)} is not allowed (not on the {dialect} allow-list of "
        "functions: aggregates, window, math, string, date and conditional functions)",
        sql,
    )


# Where rows may come from: tables (checked against the policy), subqueries, UNNEST.
_SOURCES = (exp.Table, exp.Subquery, exp.Unnest)


def _check_shape(node: exp.Expr, sql: str) -> None:
    """The allow-list of statement shapes: only SELECTs and set operations of them, anywhere."""
    if isinstance(node, exp.Query) and not isinstance(node, exp.Select | exp.SetOperation | exp.Subquery):
        raise _refuse(f"{_statement_label(node)} is not an allowed query shape", sql)
    if isinstance(node, exp.DDL | exp.DML | exp.Command):
        raise _refuse(f"{_statement_label(node)} is not allowed in a read-only query", sql)
    if isinstance(node, exp.Values):
        raise _refuse("VALUES lists are not allowed: select from the dataset's tables", sql)
    if isinstance(node, exp.From | exp.Join) and not isinstance(node.this, _SOURCES):
        source = type(node.this).__name__.upper()
        raise _refuse(f"{source} is not allowed as a row source (tables, subqueries and UNNEST only)", sql)


def _int_literal(node: exp.Expr | None) -> int | None:
    if isinstance(node, exp.Neg):
        inner = _int_literal(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string and str(node.this).lstrip("-").isdigit():
        return int(node.this)
    return None


def _date_literal(node: exp.Expr | None) -> date | None:
    while isinstance(node, exp.Cast | exp.TsOrDsToDate | exp.Date) and node.this is not None:
        node = node.this
    if isinstance(node, exp.Literal) and node.is_string:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(str(node.this))
    return None


def _check_bounded_arguments(node: exp.Func, sql: str, limits: CostLimits) -> None:
    """Functions that turn a short query into unbounded work must get literal, bounded arguments."""
    if isinstance(node, exp.Repeat):
        count = _int_literal(node.args.get("times"))
        if count is None or count > limits.max_repeat:
            raise _refuse(f"cost cap: REPEAT count must be an integer literal of at most {limits.max_repeat}", sql)
    elif isinstance(node, exp.Pad):
        length = _int_literal(node.args.get("expression"))
        if length is None or length > limits.max_repeat:
            name = "LPAD" if node.args.get("is_left") else "RPAD"
            raise _refuse(f"cost cap: {name} length must be an integer literal of at most {limits.max_repeat}", sql)
    elif isinstance(node, exp.GenerateSeries):
        start, end = _int_literal(node.args.get("start")), _int_literal(node.args.get("end"))
        step = _int_literal(node.args.get("step")) if node.args.get("step") is not None else 1
        if start is None or end is None or not step:
            raise _refuse("cost cap: GENERATE_ARRAY bounds must be integer literals (and the step a non-zero literal)", sql)
        elements = max(0, (end - start) // step + 1)
        if elements > limits.max_generated:
            raise _refuse(f"cost cap: GENERATE_ARRAY yields at most {limits.max_generated} elements (this one {elements:,})", sql)
    elif isinstance(node, exp.GenerateDateArray):
        first, last = _date_literal(node.args.get("start")), _date_literal(node.args.get("end"))
        if first is None or last is None:
            raise _refuse("cost cap: GENERATE_DATE_ARRAY bounds must be date literals ('YYYY-MM-DD')", sql)
        days = abs((last - first).days)
        if days > limits.max_generated:
            raise _refuse(f"cost cap: GENERATE_DATE_ARRAY spans at most {limits.max_generated} days (this one {days:,})", sql)


def _one_row(query: exp.Expr | None) -> bool:
    """A SELECT that returns at most one row: aggregates without GROUP BY, or LIMIT 1."""
    while isinstance(query, exp.Subquery):
        query = query.this
    if not isinstance(query, exp.Select) or query.args.get("group") is not None:
        return False
    limit = query.args.get("limit")
    if limit is not None and _int_literal(limit.expression) == 1:
        return True
    prune = lambda n: isinstance(n, exp.Window | exp.Subquery)  # noqa: E731 - windowed aggregates keep rows
    return any(isinstance(n, exp.AggFunc) for e in query.expressions for n in e.walk(prune=prune))


def _check_joins(root: exp.Query, sql: str, limits: CostLimits) -> None:
    """No cartesian products: every join is predicated, or joins UNNEST or a one-row source."""
    joins = list(root.find_all(exp.Join))
    if len(joins) > limits.max_joins:
        raise _refuse(f"cost cap: at most {limits.max_joins} joins per query (this one has {len(joins)})", sql)
    ctes = {cte.alias_or_name.lower(): cte.this for cte in root.find_all(exp.CTE)}

    def one_row(source: exp.Expr | None) -> bool:
        if isinstance(source, exp.Table) and not source.args.get("db") and source.name.lower() in ctes:
            return _one_row(ctes[source.name.lower()])
        return _one_row(source)

    for select in root.find_all(exp.Select):
        from_ = select.args.get("from_") or select.args.get("from")
        for index, join in enumerate(select.args.get("joins") or []):
            target = join.this
            name = target.alias_or_name or type(target).__name__.upper()
            if str(join.args.get("method") or "").upper() == "NATURAL":
                raise _refuse(f"NATURAL JOIN is not allowed (join {name}): use JOIN … USING (columns)", sql)
            if isinstance(target, exp.Unnest) or join.args.get("using"):
                continue
            condition = join.args.get("on")
            if condition is not None:
                qualifiers = {column.table.lower() for column in condition.find_all(exp.Column)}
                # Unqualified columns may come from either side; qualified ones must name two sources.
                if not qualifiers or ("" not in qualifiers and len(qualifiers) < 2):
                    raise _refuse(f"cartesian product: the join condition with {name} ({condition.sql()[:80]}) "
                                  "does not relate it to another table; join on matching keys", sql)
                continue
            if one_row(target) or (index == 0 and from_ is not None and one_row(from_.this)):
                continue
            raise _refuse(f"cartesian product: the join with {name} has no join predicate; use JOIN … ON "
                          "(CROSS and comma joins only with UNNEST or a one-row subquery)", sql)


def _check_structure(
    root: exp.Expr, sql: str, dialect: str, limits: CostLimits = DEFAULT_COST_LIMITS
) -> exp.Query:
    """Read-only shape, allowed functions and cost caps; returns the query root."""
    while isinstance(root, exp.Subquery) and isinstance(root.this, exp.Query):
        root = root.this
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise _refuse(f"only a read-only SELECT is allowed, got {_statement_label(root)}", sql)
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_TYPES):
            raise _refuse(f"{_statement_label(node)} is not allowed in a read-only query", sql)
        _check_shape(node, sql)
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
            _check_function_allowed(node, sql, dialect)
            _check_bounded_arguments(node, sql, limits)
        if (
            dialect == "postgres"
            and isinstance(node, exp.Column)
            and not node.table
            and not node.this.args.get("quoted")
            and node.name.lower() in _POSTGRES_SESSION_KEYWORDS
        ):
            raise _refuse(f"session function {node.name.upper()} is not allowed", sql)
    _check_joins(root, sql, limits)
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
    root = _check_structure(_parse_one(sql, policy.dialect), sql, policy.dialect, policy.cost_limits)
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
