"""The golden-query validation loop of seed 003 (Phase 1 and 5.1), against the provisioned dataset.

Each query goes through four checks, in order:

1. syntax: sqlglot parses it in the BigQuery dialect;
2. semantics: the SQL guard with the designed schema (one read-only SELECT over the demo
   tables, every column exists), then a judge: the LLM when the Anthropic provider is
   active, otherwise an offline check that the question's entities appear in the SQL;
3. execution: the guarded SQL (LIMIT capped) runs on BigQuery with the policy's job
   timeout and byte cap, and is abandoned client-side when the timeout passes
   (``agents.tools.bigquery_query.run_query``: the local emulator answers only when done);
4. shape: the rows validate against a pydantic model built from the result schema, with at
   least one row and no all-NULL column (an empty answer is useless in a demo).

A failure is written to ``ai_learning_memory`` and fed back for a new attempt, together
with earlier fixes for a similar question (``similar_fixes``); at most ``MAX_SQL_RETRIES``
retries. A fix that works is written back as a high-confidence memory row, with the
dataset replaced by ``{dataset}`` so the next request can reuse it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any

import sqlglot
from google.api_core.exceptions import GoogleAPICallError
from google.cloud import bigquery
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator
from sqlglot import exp
from sqlglot.errors import SqlglotError

from agents.guards.sql import SQLPolicy, UnsafeSQLError, bigquery_job_config, inspect_sql
from agents.llm import LLMProvider
from agents.memory import ErrorType, ValidationFeedback, classify_refusal, similar_fixes, store_feedback
from agents.schemas import GoldenQuery, SchemaDesign, SQLText
from agents.templates import DATASET_PLACEHOLDER
from agents.tools.bigquery_query import QueryDeadlineExceeded, run_query

log = logging.getLogger(__name__)

MAX_SQL_RETRIES = 3  # seed 003: at most three retries with the error fed back
SEMANTIC_MIN_CONFIDENCE = 0.7
FAILURE_CONFIDENCE = 0.3  # failures are kept for analysis; similar_fixes only returns >= 0.7
FIX_CONFIDENCE = 0.9
_SAMPLE_ROWS = 3
_STOP_WORDS = frozenset(
    ["the", "and", "for", "with", "what", "which", "who", "how", "many", "much", "our", "are", "per", "each", "by", "of", "in", "on", "to", "is", "do", "does", "top", "most", "least", "than", "from", "have", "has", "was", "were", "this", "that", "over", "time", "between", "their", "its", "a", "an", "vs"]
)
_PY_TYPES: dict[str, Any] = {
    "INTEGER": int, "INT64": int, "FLOAT": float, "FLOAT64": float, "NUMERIC": Decimal,
    "BIGNUMERIC": Decimal, "BOOLEAN": bool, "BOOL": bool, "STRING": str, "DATE": date,
    "DATETIME": datetime, "TIMESTAMP": datetime, "TIME": time_of_day, "BYTES": bytes,
}  # fmt: skip

SQL_FIX_SYSTEM = (
    "You fix BigQuery SQL for a demo's golden query. Return one read-only SELECT over the demo "
    "dataset that answers the question, using only the tables and columns listed. The error "
    "from the previous attempt and earlier fixes of similar questions are given."
)
SEMANTIC_SYSTEM = (
    "You review SQL written for a business question. Say whether the SQL accurately and completely "
    "answers the question: right tables and joins, filters, aggregation matching the intent."
)


class SqlFix(BaseModel):
    """A corrected golden query."""

    sql: SQLText
    explanation: str = ""


class SemanticVerdict(BaseModel):
    """Does the SQL answer the question?"""

    valid: bool
    justification: str = ""
    confidence: float = Field(ge=0.0, le=1.0)


class _ResultShape(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    columns: list[str] = Field(min_length=1)
    rows: list[BaseModel] = Field(min_length=1, description="an empty answer is useless in a demo")

    @model_validator(mode="after")
    def _no_empty_column(self) -> _ResultShape:
        for name in self.columns:
            if all(getattr(row, name) is None for row in self.rows):
                raise ValueError(f"column {name} is NULL in every row")
        return self


@dataclass
class Failure:
    stage: str  # syntax | guard | semantic | execution | shape
    error_type: ErrorType
    issue: str
    hint: str


@dataclass
class QueryValidation:
    question: str
    sql: str  # the SQL that passed (or the last attempt)
    insight: str
    status: str  # ok | failed
    attempts: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)
    executed_sql: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP_WORDS}


def question_entities_in_sql(question: str, tree: exp.Expression) -> list[str]:
    """Question words that name a table, column or output alias of the SQL (stemmed, prefix-tolerant)."""
    names: set[str] = set()
    for node in tree.walk():
        if isinstance(node, exp.Table | exp.Column):
            names |= _words(node.name.replace("_", " "))
        elif isinstance(node, exp.Alias):
            names |= _words(node.alias.replace("_", " "))
    return [word for word in sorted(_words(question)) if any(_related(word, n) for n in names)]


def _related(a: str, b: str) -> bool:
    """Same stem, or a long enough common prefix (month/monthly, irrigation/irrigated)."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    common = len(os.path.commonprefix([a, b]))
    return common >= min(6, shorter)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime | time_of_day):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def result_shape(result: bigquery.table.RowIterator, rows: list[bigquery.Row]) -> _ResultShape:
    """Validate the rows with a pydantic model derived from the result schema."""
    fields: dict[str, Any] = {}
    for column in result.schema or []:
        python_type = _PY_TYPES.get(column.field_type.upper(), Any)
        if column.mode == "REPEATED":
            python_type = list[python_type]  # type: ignore[valid-type]
        fields[column.name] = (python_type | None, None)
    row_model = create_model("GoldenQueryRow", __config__=ConfigDict(extra="forbid"), **fields)
    parsed = [row_model.model_validate(dict(row.items())) for row in rows]
    return _ResultShape(columns=list(fields), rows=parsed)


class GoldenQueryValidator:
    """Runs the loop for one provisioned dataset."""

    def __init__(
        self,
        *,
        client: bigquery.Client,
        schema: SchemaDesign,
        dataset: str,
        app_dsn: str,
        provider: LLMProvider,
        request_id: int,
        template_sql: dict[str, str] | None = None,
        llm_judge: bool = False,
        statement_timeout_ms: int = 30_000,
    ) -> None:
        self.client = client
        self.schema = schema
        self.dataset = dataset
        self.app_dsn = app_dsn
        self.provider = provider
        self.request_id = request_id
        self.template_sql = {k.strip().lower(): v for k, v in (template_sql or {}).items()}
        self.llm_judge = llm_judge
        self.policy = SQLPolicy.for_schema(schema, dataset, project=client.project,
                                           statement_timeout_ms=statement_timeout_ms, max_limit=1000)
        self.llm_calls: list[dict[str, Any]] = []

    # -- checks -----------------------------------------------------------------------

    def _syntax(self, sql: str) -> tuple[Any, Failure | None]:
        try:
            return sqlglot.parse_one(sql, read="bigquery"), None
        except SqlglotError as error:
            issue = re.sub(r"\x1b\[[0-9;]*m", "", str(error))[:500]
            return None, Failure("syntax", ErrorType.SYNTAX_ERROR, f"SQL syntax error: {issue}",
                                 "Write valid BigQuery Standard SQL (one SELECT statement).")

    def _semantic(self, question: str, sql: str, tree: Any) -> Failure | None:
        matched = question_entities_in_sql(question, tree)
        offline = SemanticVerdict(
            valid=bool(matched),
            justification=(f"question entities found in the SQL: {', '.join(matched)}" if matched
                           else "no entity of the question appears in the SQL's tables, columns or aliases"),
            confidence=0.8 if matched else 0.2,
        )
        verdict = offline
        if self.llm_judge:
            tables = "; ".join(f"{t.name}({', '.join(c.name for c in t.columns)})" for t in self.schema.tables)
            result = self.provider.complete_json(
                agent="demo_content",
                system=SEMANTIC_SYSTEM,
                prompt=f"Question: {question}\nTables: {tables}\nSQL:\n{sql}",
                output_model=SemanticVerdict,
                request_id=self.request_id,
                context={"template_output": offline.model_dump()},
            )
            self.llm_calls.append({"agent": "demo_content/semantic", **result.metadata()})
            verdict = result.output
        if verdict.valid and verdict.confidence >= SEMANTIC_MIN_CONFIDENCE:
            return None
        return Failure("semantic", ErrorType.SEMANTIC_MISMATCH,
                       f"the SQL does not answer the question: {verdict.justification}",
                       "Select from the tables and columns the question is about and aggregate as it asks.")

    def _execute(self, sql: str) -> tuple[Any, Failure | None]:
        """Run the guarded SQL; a query past the policy's timeout is abandoned client-side
        (``run_query``), whether or not the engine honours ``job_timeout_ms``."""
        timeout = self.policy.statement_timeout_ms / 1000
        too_slow = Failure("execution", ErrorType.PERFORMANCE_ISSUE, f"the query did not finish within {timeout:g}s",
                           "Aggregate earlier, filter more, avoid cross joins.")
        try:
            outcome = run_query(self.client, sql, job_config=bigquery_job_config(self.policy),
                                timeout_seconds=timeout, job_id_prefix=f"golden_{self.request_id}_")
            return (outcome.result, outcome.rows), None
        except QueryDeadlineExceeded:
            return None, too_slow
        except GoogleAPICallError as error:
            errors = getattr(error, "errors", None) or []
            if any(e.get("reason") == "timeout" or "timed out" in str(e.get("message", "")) for e in errors):
                return None, too_slow  # the engine's own job timeout answered first
            issue = "; ".join(str(e.get("message", "")) for e in errors if e.get("message")) or error.message
            return None, Failure("execution", ErrorType.LOGIC_ERROR, f"BigQuery refused the query: {issue[:500]}",
                                 "Use BigQuery functions and the column types of the schema.")

    def check(self, question: str, sql: str) -> tuple[Failure | None, dict[str, Any]]:
        """All four checks; (None, facts about the result) when the query passes."""
        tree, failure = self._syntax(sql)
        if failure or tree is None:
            return failure, {}
        try:
            guarded = inspect_sql(sql, self.policy)
        except UnsafeSQLError as error:
            allowed = ", ".join(f"{t.name}({', '.join(c.name for c in t.columns)})" for t in self.schema.tables)
            return Failure("guard", classify_refusal(error.reason), error.reason,
                           f"Only one read-only SELECT over {self.dataset}: {allowed}"), {}
        failure = self._semantic(question, sql, tree)
        if failure:
            return failure, {}
        executed, failure = self._execute(guarded.sql)
        if failure:
            return failure, {"executed_sql": guarded.sql}
        result, rows = executed
        try:
            shape = result_shape(result, rows)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return Failure("shape", ErrorType.DATA_INCONSISTENCY,
                           f"the result does not have a usable shape: {where}: {first['msg']}",
                           "Return at least one row with named, non-NULL columns."), {"executed_sql": guarded.sql}
        sample = [{k: _json_safe(v) for k, v in row.items()} for row in rows[:_SAMPLE_ROWS]]
        return None, {"executed_sql": guarded.sql, "rows": len(rows), "columns": shape.columns, "sample": sample}

    # -- repair -----------------------------------------------------------------------

    def _generic(self, sql: str) -> str:
        return sql.replace(f"{self.client.project}.{self.dataset}.", f"{DATASET_PLACEHOLDER}.").replace(
            f"{self.dataset}.", f"{DATASET_PLACEHOLDER}."
        )

    def _specific(self, sql: str) -> str:
        return sql.replace(DATASET_PLACEHOLDER, self.dataset)

    def _offline_fix(self, question: str, failed_sql: str, fixes: list[dict[str, Any]]) -> str | None:
        """Without an LLM: an earlier fix of the same question, else the template's SQL for it."""
        candidates = [self._specific(f["suggested_fix"]) for f in fixes
                      if f["user_intent"].strip().lower() == question.strip().lower()]
        template = self.template_sql.get(question.strip().lower())
        if template:
            candidates.append(self._specific(template))
        for candidate in candidates:
            if candidate.strip() != failed_sql.strip():
                return candidate
        return None

    def _repair(self, question: str, failed_sql: str, failure: Failure, history: list[Failure]) -> str | None:
        try:
            fixes = similar_fixes(self.app_dsn, question, failure.error_type)
        except Exception as error:  # noqa: BLE001 - memory is advisory; never fail the loop on it
            log.warning("could not read ai_learning_memory: %s", error)
            fixes = []
        offline = self._offline_fix(question, failed_sql, fixes)
        if offline is None and self.provider.name != "anthropic":
            return None
        tables = "\n".join(f"- {self.dataset}.{t.name}: {', '.join(c.name + ' ' + c.type for c in t.columns)}"
                           for t in self.schema.tables)
        earlier = "\n".join(f"- {f['specific_issue']} -> {self._specific(f['suggested_fix'])}" for f in fixes[:3])
        previous = "\n".join(f"- attempt {i + 1} ({h.stage}): {h.issue}" for i, h in enumerate(history))
        prompt = (
            f"Question: {question}\nTables:\n{tables}\n\nFailed SQL:\n{failed_sql}\n\n"
            f"Errors so far:\n{previous}\nSuggested fix: {failure.hint}\n"
            + (f"Earlier fixes of similar questions:\n{earlier}\n" if earlier else "")
        )
        result = self.provider.complete_json(
            agent="demo_content",
            system=SQL_FIX_SYSTEM,
            prompt=prompt,
            output_model=SqlFix,
            request_id=self.request_id,
            context={"template_output": {"sql": offline or failed_sql, "explanation": "template or memory fix"}},
        )
        self.llm_calls.append({"agent": "demo_content/fix", **result.metadata()})
        return result.output.sql

    def _remember(self, failure: Failure, question: str, sql: str, fix: str | None, attempt: int) -> None:
        feedback = ValidationFeedback(
            error_type=failure.error_type,
            user_intent=question,
            failed_query=sql,
            specific_issue=failure.issue,
            suggested_fix=self._generic(fix) if fix else failure.hint,
            confidence=FIX_CONFIDENCE if fix else FAILURE_CONFIDENCE,
            learning_context={"stage": failure.stage, "attempt": attempt, "dataset": self.dataset,
                              "kind": "fix" if fix else "failure"},
        )
        try:
            store_feedback(self.app_dsn, feedback, request_id=self.request_id)
        except Exception as error:  # noqa: BLE001 - memory is advisory
            log.warning("could not write ai_learning_memory: %s", error)

    def validate(self, query: GoldenQuery) -> QueryValidation:
        started = time.perf_counter()
        outcome = QueryValidation(question=query.question, sql=query.sql, insight=query.insight, status="failed")
        sql: str | None = query.sql
        history: list[Failure] = []
        for attempt in range(1 + MAX_SQL_RETRIES):
            assert sql is not None
            failure, facts = self.check(query.question, sql)
            outcome.sql = sql
            if failure is None:
                outcome.status = "ok"
                outcome.rows = facts["rows"]
                outcome.columns = facts["columns"]
                outcome.sample = facts["sample"]
                outcome.executed_sql = facts["executed_sql"]
                outcome.attempts.append({"attempt": attempt + 1, "stage": "passed"})
                if history:  # the fix worked: remember it for the next similar question
                    self._remember(history[-1], query.question, query.sql, sql, attempt)
                break
            history.append(failure)
            outcome.attempts.append({"attempt": attempt + 1, "stage": failure.stage,
                                     "error_type": failure.error_type.value, "error": failure.issue})
            self._remember(failure, query.question, sql, None, attempt)
            log.info("request %s: golden query %r failed at %s (attempt %d): %s", self.request_id,
                     query.question, failure.stage, attempt + 1, failure.issue)
            if attempt == MAX_SQL_RETRIES:
                break
            sql = self._repair(query.question, sql, failure, history)
            if sql is None:
                outcome.attempts.append({"attempt": attempt + 2, "stage": "gave_up",
                                         "error": "no fix available offline (no memory, no template query)"})
                break
        outcome.seconds = round(time.perf_counter() - started, 3)
        return outcome
