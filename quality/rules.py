"""Rules as code: what every raw table and key mart must satisfy.

A ``Rule`` has two faces that are generated from the same definition so they cannot
drift apart:

- ``violation_sql``: a SQL predicate true for a row that breaks the rule; the quarantine
  and the scorecard evaluate it in the warehouse, in one pass per table;
- ``expectation``: the Great Expectations 1.x expectation the asset checks validate.

What a rule's failure does (quarantine, block, warn) is decided in ``quality/policy.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from foundation.catalog import PARTITION_DATE_COLUMN, RAW_SCHEMA, SOURCE_TABLES, SourceTable
from foundation.connections import CLOCK_SQL
from foundation.domain import AGENT_PRICE_RANGE, INDUSTRIES, RATING_RANGE, TASK_STATUSES
from quality import policy
from quality.payloads import payload_schema, schema_files, shape_sql

QUARANTINE_SCHEMA = "quarantine"
# Rule kinds validated through a computed column of the batch view (see Rule.computed_column).
COMPUTED_KINDS = ("references", "valid_json", "late_arriving", "greater_than", "not_before", "finite",
                  "json_shape", "parent_quarantined")
QUALITY_SCHEMA = "quality"
# Column types that can hold NaN (numeric and the float types) or ±Infinity (PostgreSQL >= 14).
NON_FINITE_TYPES = ("numeric", "decimal", "real", "double precision", "float4", "float8")
NON_FINITE_VALUES = "('NaN', 'Infinity', '-Infinity')"


def can_be_non_finite(pg_type: str) -> bool:
    """Whether a column of this type (``format_type`` text, e.g. ``numeric(12,2)``) can hold NaN or ±Infinity."""
    return pg_type.split("(")[0].strip() in NON_FINITE_TYPES


def ident(*parts: str) -> str:
    """A (qualified) SQL identifier, quoted."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def literal(value: Any) -> str:
    """A SQL literal of one of our own constants (numbers and strings)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


_MAX_IDENTIFIER = 63  # NAMEDATALEN - 1


@dataclass(frozen=True)
class Rule:
    """One rule of one table. ``kind`` selects its SQL, its expectation and its policy."""

    name: str
    kind: str
    metric: str
    columns: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    defect: str | None = None  # the catalogue kind (orchestration/simulator/defects.py) it catches

    @property
    def column(self) -> str:
        return self.columns[0]

    @property
    def computed_column(self) -> str | None:
        """For rules no built-in expectation expresses: a batch-view column, NULL unless the row breaks it."""
        if self.kind not in COMPUTED_KINDS:
            return None
        name = f"violates__{self.name}"
        # PostgreSQL truncates identifiers to 63 bytes: a longer name would not be the view's column
        if len(name.encode()) > _MAX_IDENTIFIER:
            name = f"{name[:_MAX_IDENTIFIER - 9]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
        return name

    def computed_value_sql(self, suite: TableSuite) -> str:
        """The computed column's value: what makes the row bad (shown as the sample value)."""
        if self.kind == "finite":
            # which columns are not finite, e.g. "revenue=NaN"
            shown = "concat_ws(', ', " + ", ".join(
                f"CASE WHEN {ident(c)} IN {NON_FINITE_VALUES} THEN {literal(c + '=')} || {ident(c)}::text END"
                for c in self.columns) + ")" if self.columns else "NULL::text"
            return f"CASE WHEN {self.violation_sql(None, suite)} THEN {shown} END"
        col = ident(self.column)
        if self.kind in ("valid_json", "json_shape"):
            shown = f"left({col}::text, 80)"
        elif self.kind == "greater_than":
            shown = f"{col}::text || ' <= ' || {ident(self.columns[1])}::text"
        elif self.kind == "not_before":
            shown = f"{col}::text || ' < ' || {ident(self.columns[1])}::text"
        else:
            shown = f"{col}::text"
        return f"CASE WHEN {self.violation_sql(None, suite)} THEN {shown} END"

    @property
    def bound(self) -> bool:
        """A ``finite`` rule covers the columns of the relation it is bound to (``TableSuite.bind``)."""
        return self.kind != "finite" or bool(self.params.get("bound"))

    def bind(self, column_types: Mapping[str, str]) -> Rule:
        """This rule for a relation with these columns (name -> ``format_type``): ``finite`` rules
        take every column that can hold a non-finite value, so no numeric column is forgotten."""
        if self.kind != "finite":
            return self
        columns = tuple(c for c, kind in column_types.items() if can_be_non_finite(kind))
        return replace(self, columns=columns, params={**self.params, "bound": True})

    @property
    def windowed(self) -> bool:
        """Whether ``violation_sql`` is a window expression (select list only, not WHERE)."""
        return self.kind == "unique_latest"

    @property
    def row_level(self) -> bool:
        """Whether a single row can be judged (and quarantined) by this rule."""
        return self.kind not in ("unique", "freshness", "error_budget")

    def violation_sql(self, alias: str | None, suite: TableSuite) -> str | None:
        """A predicate over ``alias`` (None: unqualified columns) true when the row breaks the rule."""
        prefix = f"{alias}." if alias else ""
        col = f"{prefix}{ident(self.column)}" if self.columns else ""
        if self.kind == "finite":
            if not self.bound:
                raise ValueError(f"rule {self.name} covers the relation's numeric columns: bind the suite first")
            # equality, never a range: PostgreSQL sorts NaN above every number, so NaN >= 0 holds
            return "(" + " OR ".join(f"{prefix}{ident(c)} IN {NON_FINITE_VALUES}" for c in self.columns) + ")" \
                if self.columns else "FALSE"
        if self.kind == "not_before":
            return f"{col} < {prefix}{ident(self.columns[1])}"
        if self.kind == "json_shape":
            valid = shape_sql(self.params["schema"], "v.doc")
            doc = f"{col}::jsonb" if self.params.get("jsonb") else \
                f"(CASE WHEN {ident(QUALITY_SCHEMA, 'is_valid_json')}({col}) THEN {col}::jsonb END)"
            # malformed JSON is valid_json's violation; the shape judges documents only
            return f"(SELECT v.doc IS NOT NULL AND NOT {valid} FROM (SELECT {doc} AS doc) AS v)"  # noqa: S608
        if self.kind == "parent_quarantined":
            raw_ref, quarantine_ref = ident(RAW_SCHEMA, self.params["ref_table"]), \
                ident(QUARANTINE_SCHEMA, self.params["ref_table"])
            ref = ident(self.params["ref_column"])
            return (f"({col} IS NOT NULL AND {col} NOT IN (SELECT p.{ref} FROM {raw_ref} AS p "  # noqa: S608
                    f"WHERE p.{ref} IS NOT NULL) AND {col} IN (SELECT q.{ref} FROM {quarantine_ref} AS q))")
        if self.kind == "not_null":
            return f"{col} IS NULL"
        if self.kind == "between":
            low, high = self.params.get("min"), self.params.get("max")
            parts = ([f"{col} < {literal(low)}"] if low is not None else []) + (
                [f"{col} > {literal(high)}"] if high is not None else [])
            return "(" + " OR ".join(parts) + ")"
        if self.kind == "in_set":
            values = ", ".join(literal(v) for v in self.params["values"])
            return f"{col} NOT IN ({values})"
        if self.kind == "references":
            # NOT IN over a NULL-free subquery plans as one hashed lookup, not a probe per row
            ref = ident(self.params["ref_column"])
            return (f"({col} IS NOT NULL AND {col} NOT IN (SELECT ref.{ref} "  # noqa: S608 - own identifiers
                    f"FROM {self.params['relation']} AS ref WHERE ref.{ref} IS NOT NULL))")
        if self.kind == "greater_than":
            return f"{col} <= {prefix}{ident(self.columns[1])}"
        if self.kind == "not_future":
            return f"{col} > {CLOCK_SQL} + interval '{int(policy.FUTURE_SKEW.total_seconds())} seconds'"
        if self.kind == "valid_json":
            return f"({col} IS NOT NULL AND NOT {ident(QUALITY_SCHEMA, 'is_valid_json')}({col}))"
        if self.kind == "unique_latest":
            # A window expression (one sort of the window), so it is only valid in a select list.
            # Retries re-use the event time, so every version of a key falls in the same partition.
            order = ", ".join(f"{prefix}{ident(c)} DESC" for c in self.params["newer_by"])
            return (f"({col} IS NOT NULL AND row_number() OVER (PARTITION BY {col} ORDER BY {order}) > 1)")
        if self.kind == "late_arriving":
            grace = int(policy.LATE_ARRIVAL_GRACE.total_seconds())
            return (f"{col} >= (({prefix}{ident(suite.day_column)} + 1)::timestamp AT TIME ZONE 'UTC') "
                    f"+ interval '{grace} seconds'")
        return None

    def expectation(self, suite: TableSuite, now: datetime, source_latest: datetime | None) -> Any:
        """The GX expectation of this rule (None when it cannot be evaluated now, e.g. freshness)."""
        import great_expectations.expectations as gxe

        meta = {"rule": self.name, "metric": self.metric, "defect": self.defect}
        desc = self.description or None
        if self.kind == "not_null":
            return gxe.ExpectColumnValuesToNotBeNull(column=self.column, meta=meta, description=desc)
        if self.kind == "between":
            return gxe.ExpectColumnValuesToBeBetween(column=self.column, min_value=self.params.get("min"),
                                                     max_value=self.params.get("max"), meta=meta, description=desc)
        if self.kind == "in_set":
            return gxe.ExpectColumnValuesToBeInSet(column=self.column, value_set=list(self.params["values"]),
                                                   meta=meta, description=desc)
        if self.kind == "not_future":
            return gxe.ExpectColumnValuesToBeBetween(column=self.column, max_value=now + policy.FUTURE_SKEW,
                                                     meta=meta, description=desc)
        if self.kind in ("unique", "unique_latest"):
            if len(self.columns) > 1:
                return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(self.columns), meta=meta,
                                                           description=desc)
            # count(DISTINCT) joins the one aggregate query GX bundles for the batch; the
            # per-row variant costs a window sort of its own.
            return gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(column=self.column, min_value=1.0,
                                                                       meta=meta, description=desc)
        if self.kind == "freshness":
            if source_latest is None:
                return None
            target = policy.REALTIME_FRESHNESS if suite.name in policy.REALTIME_TABLES else policy.DAILY_FRESHNESS
            return gxe.ExpectColumnMaxToBeBetween(column=self.column, min_value=source_latest - target,
                                                  meta={**meta, "source_latest": source_latest.isoformat(),
                                                        "target_seconds": target.total_seconds()},
                                                  description=desc)
        if self.computed_column:
            # evaluated as a column of the batch view: GX bundles its count with the other rules'
            return gxe.ExpectColumnValuesToBeNull(column=self.computed_column, meta=meta,
                                                  description=desc or self.name.replace("_", " "))
        raise ValueError(f"rule kind {self.kind!r} has no expectation")


@dataclass(frozen=True)
class TableSuite:
    """The rules of one warehouse table (a raw table or a mart)."""

    schema: str
    name: str
    rules: tuple[Rule, ...]
    key_column: str = "id"
    partition_column: str | None = None  # event column of a daily-partitioned table
    day_column: str = PARTITION_DATE_COLUMN  # the column holding the partition day
    asset_key: tuple[str, ...] = ()

    @property
    def relation(self) -> str:
        return ident(self.schema, self.name)

    @property
    def partitioned(self) -> bool:
        return self.partition_column is not None

    @property
    def suite_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def bind(self, column_types: Mapping[str, str]) -> TableSuite:
        """The suite with its column-generated rules (``finite``) bound to the relation's columns."""
        return replace(self, rules=tuple(rule.bind(column_types) for rule in self.rules))

    def quarantine_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.row_level and policy.policy_for(self.schema, self.name, r.name, r.kind).quarantine]

    def policy_quarantines(self, rule: Rule) -> bool:
        return rule.row_level and policy.policy_for(self.schema, self.name, rule.name, rule.kind).quarantine

    def blocking(self, rule: Rule) -> bool:
        return policy.policy_for(self.schema, self.name, rule.name, rule.kind).blocking

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"{self.suite_name} has no rule {name!r}; rules: {[r.name for r in self.rules]}")


# ---- rule builders -------------------------------------------------------------------------------

def required(*columns: str, defect: str | None = None) -> list[Rule]:
    return [Rule(f"{c}_complete", "not_null", "completeness", (c,), description=f"{c} is required",
                 defect=defect) for c in columns]


def between(column: str, low: float | None, high: float | None, defect: str | None = None) -> Rule:
    label = "non_negative" if (low == 0 and high is None) else "in_range"
    bounds = f">= {low}" if high is None else (f"<= {high}" if low is None else f"between {low} and {high}")
    return Rule(f"{column}_{label}", "between", "accuracy", (column,), {"min": low, "max": high},
                f"{column} {bounds}", defect)


def in_set(column: str, values: Iterable[str], defect: str | None = None) -> Rule:
    values = tuple(values)
    return Rule(f"{column}_accepted", "in_set", "accuracy", (column,), {"values": values},
                f"{column} in {{{', '.join(values)}}}", defect)


def references(column: str, table: str, ref_column: str = "id", defect: str | None = "orphan_foreign_key") -> Rule:
    # The referenced row may sit in raw or in quarantine: an orphan points at no source row at all.
    relation = (f"(SELECT {ident(ref_column)} FROM {ident(RAW_SCHEMA, table)} UNION ALL "  # noqa: S608
                f"SELECT {ident(ref_column)} FROM {ident(QUARANTINE_SCHEMA, table)})")
    return Rule(f"{column}_references_{table}", "references", "consistency", (column,),
                {"relation": relation, "ref_table": table, "ref_column": ref_column},
                f"every {column} exists in {table}.{ref_column}", defect)


def after(later: str, earlier: str, defect: str | None = None) -> Rule:
    return Rule(f"{later}_after_{earlier}", "greater_than", "consistency", (later, earlier),
                description=f"{later} > {earlier}", defect=defect)


def not_before(later: str, earlier: str, defect: str | None = "impossible_order") -> Rule:
    return Rule(f"{later}_not_before_{earlier}", "not_before", "consistency", (later, earlier),
                description=f"{later} >= {earlier}", defect=defect)


def finite() -> Rule:
    """Every numeric column of the relation holds a finite number (no NaN, no ±Infinity).

    The columns are the relation's own, read from the catalog when the suite is bound, so a
    column added later is covered without touching this file."""
    return Rule("numbers_finite", "finite", "accuracy", (),
                description="every numeric column is finite (no NaN, Infinity or -Infinity)",
                defect="non_finite_number")


def json_shape(table: str, column: str, text: bool, defect: str | None = "payload_shape") -> Rule:
    return Rule(f"{column}_shape", "json_shape", "accuracy", (column,),
                {"schema": payload_schema(table, column), "jsonb": not text},
                f"{column} matches quality/payload_schemas/{table}.{column}.json", defect)


def parent_not_quarantined(column: str, table: str, ref_column: str = "id",
                           defect: str | None = "parent_quarantined") -> Rule:
    """The no-silent-cascade policy: a row whose parent sits in quarantine is quarantined too, with
    this rule as its reason, instead of vanishing from the marts through an inner join."""
    return Rule(f"{column}_parent_quarantined", "parent_quarantined", "consistency", (column,),
                {"ref_table": table, "ref_column": ref_column},
                f"the {table} row {column} refers to is not quarantined", defect)


def not_future(*columns: str, defect: str | None = "future_timestamp") -> list[Rule]:
    return [Rule(f"{c}_not_future", "not_future", "accuracy", (c,), description=f"{c} is not in the future",
                 defect=defect) for c in columns]


def valid_json(column: str, defect: str | None = "malformed_json") -> Rule:
    return Rule(f"{column}_valid_json", "valid_json", "accuracy", (column,),
                description=f"{column} is valid JSON", defect=defect)


def unique(*columns: str) -> Rule:
    return Rule(f"{'_'.join(columns)}_unique", "unique", "uniqueness", columns,
                description=f"({', '.join(columns)}) is unique")


def unique_latest(column: str, newer_by: tuple[str, ...] = ("updated_at", "id"),
                  defect: str | None = "duplicate_natural_key") -> Rule:
    return Rule(f"{column}_unique", "unique_latest", "uniqueness", (column,), {"newer_by": newer_by},
                f"{column} is unique (older versions of a re-sent {column} are quarantined)", defect)


def late_arriving(column: str = "updated_at") -> Rule:
    return Rule("late_arriving_rows", "late_arriving", "timeliness", (column,),
                description=f"{column} is at most {policy.LATE_ARRIVAL_GRACE} after the partition day",
                defect="late_arriving")


def freshness(column: str) -> Rule:
    return Rule("freshness", "freshness", "timeliness", (column,),
                description="the window's latest row is as recent as the source's latest activity")


def error_budget() -> Rule:
    return Rule("error_budget", "error_budget", "accuracy", (),
                description=f"quarantined share <= {policy.MAX_VALIDATION_ERROR_RATE:.1%}")


# ---- the raw tables ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Order:
    """Two timestamps of one row with a natural order: ``later`` is never before ``earlier``."""

    earlier: str
    later: str
    strict: bool = False  # ``later`` must be strictly after ``earlier``
    defect: str | None = "impossible_order"

    def rule(self) -> Rule:
        return after(self.later, self.earlier, self.defect) if self.strict else \
            not_before(self.later, self.earlier, self.defect)


# Every pair of timestamps of a row with a natural order, declared once per table. A table with
# two or more timestamp columns is either here or in UNORDERED_TIMESTAMPS with the reason
# (tests/quality/test_new_rules.py reads the app's schema and holds the two to that).
NATURAL_ORDERS: dict[str, tuple[Order, ...]] = {
    "agents": (Order("created_at", "updated_at"),),
    "customers": (Order("created_at", "updated_at"), Order("signup_at", "last_login_at")),
    "trials": (Order("trial_start", "trial_end", strict=True, defect="trial_end_before_start"),
               Order("created_at", "updated_at")),
    "tasks": (Order("created_at", "completed_at"), Order("created_at", "updated_at"),
              Order("completed_at", "updated_at")),
    "agent_experiments": (Order("started_at", "ended_at", strict=True),),
    "chat_sessions": (Order("started_at", "ended_at"), Order("started_at", "updated_at"),
                      Order("ended_at", "updated_at")),
    "issues": (Order("created", "work_first_started_at"), Order("work_first_started_at", "work_last_completed_at"),
               Order("created", "updated_at")),
    "pull_requests": (Order("created_at", "merged_at"), Order("created_at", "updated_at"),
                      Order("merged_at", "updated_at")),
}
UNORDERED_TIMESTAMPS: dict[str, str] = {
    "users": "hired_at is the only timestamp",
    "provisioning_requests": ("created_at/updated_at come from the database's clock, started_at/finished_at "
                              "from the run's: a pinned platform clock orders them arbitrarily"),
}

_SEVERITIES = ("low", "medium", "high", "critical")

RAW_RULES: dict[str, list[Rule]] = {
    "specialties": [unique("id"), *required("name", "industry"), in_set("industry", INDUSTRIES)],
    "agents": [
        unique("id"), *required("name", "specialty_id", "industry", "price", "status", defect="null_required"),
        in_set("industry", INDUSTRIES, "unknown_industry"), between("price", *AGENT_PRICE_RANGE, "price_out_of_range"),
        between("rating", *RATING_RANGE, "rating_out_of_range"), references("specialty_id", "specialties"),
        parent_not_quarantined("specialty_id", "specialties"), *not_future("created_at", "updated_at"),
    ],
    "customers": [unique("id"), *required("name", "email", "status"), *not_future("created_at", "signup_at")],
    "trials": [
        unique("id"), *required("customer_id", "agent_id", "trial_start", "trial_end"),
        references("customer_id", "customers"), references("agent_id", "agents"),
        parent_not_quarantined("customer_id", "customers"), parent_not_quarantined("agent_id", "agents"),
        *not_future("created_at"),
    ],
    "tasks": [
        unique("id"), *required("task_ref", "agent_id", "customer_id", "status", defect="null_required"),
        unique_latest("task_ref"),
        between("rating", *RATING_RANGE, "rating_out_of_range"), between("revenue", 0, None, "negative_revenue"),
        in_set("status", TASK_STATUSES),
        references("agent_id", "agents"), references("customer_id", "customers"),
        parent_not_quarantined("agent_id", "agents"), parent_not_quarantined("customer_id", "customers"),
        *not_future("created_at", "completed_at", "updated_at"), valid_json("payload"), late_arriving(),
    ],
    "platform_users": [unique("id"), *required("email", "plan")],
    "user_budgets": [unique("user_id"), between("monthly_budget_usd", 0, None), references("user_id", "platform_users")],
    "agent_versions": [unique("id"), *required("agent_id", "version"), references("agent_id", "agents")],
    "agent_experiments": [unique("id"), *required("agent_id", "name", "status"), references("agent_id", "agents")],
    "experiment_assignments": [unique("id"), *required("experiment_id", "user_id", "variant"),
                               in_set("variant", ("control", "variant")),
                               references("experiment_id", "agent_experiments"), references("user_id", "platform_users")],
    "chat_sessions": [unique("id"), *required("agent_id", "user_id"), references("agent_id", "agents"),
                      references("user_id", "platform_users"), *not_future("started_at")],
    "chat_messages": [unique("id"), *required("session_id", "role"), references("session_id", "chat_sessions"),
                      parent_not_quarantined("session_id", "chat_sessions"), between("rag_confidence", 0, 1),
                      between("response_time_ms", 0, None), valid_json("metadata"), *not_future("created_at")],
    "llm_usage": [unique("id"), *required("provider", "model", "prompt_tokens", "completion_tokens", "status"),
                  between("prompt_tokens", 0, None), between("completion_tokens", 0, None),
                  between("latency_ms", 0, None), *not_future("created_at")],
    "agent_actions": [unique("id"), unique("action_id"), *required("action_type", "environment"),
                      between("confidence", 0, 1), between("execution_time", 0, None), *not_future("created_at")],
    "signature_metrics": [unique("id"), *required("signature_name"), between("success_rate", 0, 100),
                          *not_future("recorded_at")],
    "verifier_metrics": [unique("id"), *required("verifier_name", "status"), between("checks_performed", 0, None),
                         between("issues_found", 0, None), *not_future("recorded_at")],
    "training_metrics": [unique("id"), *required("session_id", "epoch"), between("training_accuracy", 0, 1),
                         between("validation_accuracy", 0, 1), between("loss", 0, None), *not_future("recorded_at")],
    "code_embeddings": [unique("id"), *required("source_type", "embedding"), *not_future("created_at")],
    "teams": [unique("id"), *required("name")],
    "users": [unique("id"), *required("name", "email", "team_id"), references("team_id", "teams")],
    "issuetypes": [unique("id"), *required("original_name")],
    "statuses": [unique("id"), *required("name", "category"), in_set("category", ("To Do", "In Progress", "Done"))],
    "issues": [unique("id"), unique("key"), *required("key", "summary", "issuetype_id", "status_id"),
               references("issuetype_id", "issuetypes"), references("status_id", "statuses"),
               between("story_points", 0, None), between("total_lead_time_seconds", 0, None)],
    "repositories": [unique("id"), *required("name")],
    "pull_requests": [unique("id"), *required("repository_id", "author_id", "number"),
                      references("repository_id", "repositories"), between("commit_count", 0, None),
                      between("changed_files", 0, None), between("review_cycles", 0, None),
                      between("rework_commit_count", 0, None)],
    "provisioning_requests": [unique("id"), *required("customer_url", "status"),
                              in_set("status", ("pending", "queued", "running", "succeeded", "failed", "cancelled"))],
    "data_agents": [unique("id"), *required("request_id", "dataset"),
                    references("request_id", "provisioning_requests")],
    "ai_learning_memory": [unique("id"), *required("error_type"), between("confidence", 0, 1)],
}


def _payload_rules(table: str, rules: list[Rule]) -> list[Rule]:
    """A shape rule for every payload schema of the table (a text column also has a valid_json rule)."""
    text = {r.column for r in rules if r.kind == "valid_json"}
    return [json_shape(t, column, column in text) for t, column in schema_files() if t == table]


def _raw_suite(table: SourceTable) -> TableSuite:
    rules = list(RAW_RULES[table.name])
    rules += [order.rule() for order in NATURAL_ORDERS.get(table.name, ())]
    rules += _payload_rules(table.name, rules)
    rules.append(finite())
    if table.partitioned:
        rules.append(freshness(table.partition_column or ""))
    rules.append(error_budget())
    return TableSuite(RAW_SCHEMA, table.name, tuple(rules), key_column=table.primary_key,
                      partition_column=table.partition_column, asset_key=(RAW_SCHEMA, table.name))


RAW_SUITES: dict[str, TableSuite] = {t.name: _raw_suite(t) for t in SOURCE_TABLES}

# ---- the key marts (keys as orchestration/defs/marts/translator.py gives them) -------------------

MARTS_SCHEMA = "marts"


def _mart(name: str, rules: list[Rule], key: str, daily: bool) -> TableSuite:
    return TableSuite(MARTS_SCHEMA, name, (*rules, finite()), key_column=key,
                      partition_column="day" if daily else None, day_column="day",
                      asset_key=(MARTS_SCHEMA, name))


MART_SUITES: dict[str, TableSuite] = {
    s.name: s for s in (
        _mart("agent_analytics", [
            *required("day", "agent_id", "industry"), unique("day", "agent_id"),
            in_set("industry", INDUSTRIES), between("avg_rating", *RATING_RANGE), between("total_revenue", 0, None),
            between("tasks_completed", 0, None), references("agent_id", "agents"),
        ], "agent_id", daily=True),
        _mart("agent_metrics_daily", [
            *required("day", "agent_id"), unique("day", "agent_id"), between("error_rate", 0, 1),
            between("total_cost_usd", 0, None), between("avg_rag_confidence", 0, 1),
        ], "agent_id", daily=True),
        _mart("llm_cost_breakdown", [
            *required("day", "provider", "model"), between("total_cost_usd", 0, None),
            between("calls", 0, None),
        ], "provider", daily=True),
        _mart("revenue_metrics", [
            *required("day", "industry"), unique("day", "industry"), in_set("industry", INDUSTRIES),
            between("total_revenue", 0, None), between("tasks_completed", 0, None),
        ], "industry", daily=True),
        _mart("agent_leaderboard", [
            *required("agent_id", "industry"), unique("agent_id"), in_set("industry", INDUSTRIES),
            between("avg_rating", *RATING_RANGE), between("trial_conversion_rate", 0, 1),
        ], "agent_id", daily=False),
    )
}


def mart_suite(schema: str, name: str, daily: bool) -> TableSuite:
    """The suite of any mart the dbt project builds: the key marts' own, else the finiteness rule alone
    (the defs call this for every dbt model, so no mart is left without it)."""
    if schema == MARTS_SCHEMA and name in MART_SUITES:
        return MART_SUITES[name]
    return TableSuite(schema, name, (finite(),), key_column="day" if daily else "",
                      partition_column="day" if daily else None, day_column="day", asset_key=(schema, name))


def all_suites() -> list[TableSuite]:
    return [*RAW_SUITES.values(), *MART_SUITES.values()]
