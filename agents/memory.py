"""The self-healing memory (seed 003 Phase 5.1): refused or failed SQL and the fix that worked.

Rows go to the app database's ``ai_learning_memory``; ``similar_fixes`` returns earlier
high-confidence fixes for a similar intent so the next prompt can include them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.rows import dict_row


class ErrorType(StrEnum):
    SEMANTIC_MISMATCH = "semantic_mismatch"
    SYNTAX_ERROR = "syntax_error"
    PERFORMANCE_ISSUE = "performance_issue"
    LOGIC_ERROR = "logic_error"
    DATA_INCONSISTENCY = "data_inconsistency"
    UNSAFE_SQL = "unsafe_sql"


def classify_refusal(reason: str) -> ErrorType:
    """Map an ``UnsafeSQLError`` reason to the memory's error types."""
    if reason.startswith("unparsable SQL"):
        return ErrorType.SYNTAX_ERROR
    if reason.startswith(("invalid column reference", "unknown table")):
        return ErrorType.LOGIC_ERROR
    if reason.startswith(("cartesian product", "cost cap")):
        return ErrorType.PERFORMANCE_ISSUE
    return ErrorType.UNSAFE_SQL


@dataclass(frozen=True)
class ValidationFeedback:
    error_type: ErrorType
    user_intent: str
    failed_query: str
    specific_issue: str
    suggested_fix: str
    confidence: float
    learning_context: dict[str, Any] = field(default_factory=dict)

    def to_prompt(self) -> str:
        return (
            f"Previous attempt failed ({self.error_type.value}): {self.specific_issue}\n"
            f"Failed query: {self.failed_query}\nSuggested fix: {self.suggested_fix}"
        )


def store_feedback(dsn: str, feedback: ValidationFeedback, request_id: int | None = None) -> int:
    """Insert one ``ai_learning_memory`` row; returns its id."""
    if not 0.0 <= feedback.confidence <= 1.0:
        raise ValueError("confidence must be within [0, 1]")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO ai_learning_memory (request_id, error_type, user_intent, failed_query, specific_issue, "
            "suggested_fix, confidence, learning_context) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                request_id,
                feedback.error_type.value,
                feedback.user_intent,
                feedback.failed_query,
                feedback.specific_issue,
                feedback.suggested_fix,
                feedback.confidence,
                json.dumps(feedback.learning_context),
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def similar_fixes(
    dsn: str, user_intent: str, error_type: ErrorType | None = None, *, min_confidence: float = 0.7, limit: int = 5
) -> list[dict[str, Any]]:
    """Earlier fixes whose intent matches by full-text search (the table's GIN index), newest first."""
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT user_intent, specific_issue, suggested_fix, confidence, learning_context FROM ai_learning_memory "
            "WHERE to_tsvector('english', user_intent) @@ plainto_tsquery('english', %s) "
            "AND confidence >= %s AND (%s::text IS NULL OR error_type = %s) "
            "ORDER BY created_at DESC, id DESC LIMIT %s",
            (user_intent, min_confidence, error_type.value if error_type else None,
             error_type.value if error_type else None, limit),
        ).fetchall()
