"""Guards between LLM output / user input and the systems the agents touch."""

from agents.guards.sql import SQLPolicy, UnsafeSQLError, check_read_only, guard_sql, inspect_sql
from agents.guards.url import (
    FetchError,
    FetchResult,
    FetchTimeoutError,
    ResponseTooLargeError,
    UnsafeURLError,
    URLPolicy,
    check_url,
    safe_fetch,
)

__all__ = [
    "FetchError",
    "FetchResult",
    "FetchTimeoutError",
    "ResponseTooLargeError",
    "SQLPolicy",
    "URLPolicy",
    "UnsafeSQLError",
    "UnsafeURLError",
    "check_read_only",
    "check_url",
    "guard_sql",
    "inspect_sql",
    "safe_fetch",
]
