"""Refused SQL and its fix are remembered in ai_learning_memory and found again by intent."""

from __future__ import annotations

import pytest

from agents.guards.sql import SQLPolicy, UnsafeSQLError, guard_sql
from agents.memory import ErrorType, ValidationFeedback, classify_refusal, similar_fixes, store_feedback


def test_refusal_is_stored_and_retrieved(app_dsn: str) -> None:
    policy = SQLPolicy.for_tables("shop", {"orders": {"order_id": "INT64", "total": "NUMERIC"}})
    failed = "SELECT revenue FROM shop.orders"
    with pytest.raises(UnsafeSQLError) as error:
        guard_sql(failed, policy)
    kind = classify_refusal(error.value.reason)
    assert kind is ErrorType.LOGIC_ERROR
    feedback = ValidationFeedback(
        error_type=kind,
        user_intent="total monthly revenue of the shop",
        failed_query=failed,
        specific_issue=error.value.reason,
        suggested_fix="use SUM(total) from shop.orders",
        confidence=0.9,
        learning_context={"dataset": "shop"},
    )
    assert store_feedback(app_dsn, feedback) > 0
    found = similar_fixes(app_dsn, "monthly revenue", ErrorType.LOGIC_ERROR)
    assert found and found[0]["suggested_fix"] == "use SUM(total) from shop.orders"
    assert "revenue" in feedback.to_prompt()
    assert classify_refusal("unparsable SQL: x") is ErrorType.SYNTAX_ERROR
    assert classify_refusal("function PG_SLEEP is not allowed") is ErrorType.UNSAFE_SQL
    assert classify_refusal("cartesian product: the join with b has no join predicate") is ErrorType.PERFORMANCE_ISSUE
    assert classify_refusal("cost cap: REPEAT count must be an integer literal") is ErrorType.PERFORMANCE_ISSUE
