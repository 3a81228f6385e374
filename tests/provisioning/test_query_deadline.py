"""A golden query that runs past its time is abandoned by the client and interrupted by the emulator.

The SQL guard refuses the cartesian product used here; these tests exercise what stands
behind the guard (the executor and the engine), for whatever a static check cannot see.
"""

from __future__ import annotations

import time

import pytest
from google.api_core.exceptions import GoogleAPICallError
from google.cloud import bigquery

from agents.guards.sql import SQLPolicy, UnsafeSQLError, guard_sql
from agents.llm import TemplateProvider, UsageRecorder
from agents.memory import ErrorType
from agents.provisioning.validation import GoldenQueryValidator
from agents.templates import get_template
from agents.tools.bigquery_query import GRACE_SECONDS, QueryDeadlineExceeded, run_query
from tests.bigquery_fixtures import BigQueryEmulator

# ~4e9 multiplications: about half a minute for the emulator's DuckDB on two cores.
SLOW_SQL = ("SELECT SUM(MOD(a * b, 7)) AS s FROM UNNEST(GENERATE_ARRAY(1, 100000)) AS a "
            "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 40000)) AS b")


def _quick_query_seconds(client: bigquery.Client) -> float:
    started = time.monotonic()
    assert [tuple(r.values()) for r in client.query("SELECT 1 AS one").result()] == [(1,)]
    return time.monotonic() - started


def test_the_guard_itself_refuses_the_slow_query() -> None:
    with pytest.raises(UnsafeSQLError, match="GENERATE_ARRAY yields at most"):
        guard_sql(SLOW_SQL, SQLPolicy.for_tables("demo", ["t"]))


def test_a_golden_query_past_its_timeout_is_stopped_within_its_time(bigquery: BigQueryEmulator, prov_dsn: str) -> None:
    template = get_template("saas")
    validator = GoldenQueryValidator(client=bigquery.client(), schema=template.design, dataset="demo_timeout",
                                     app_dsn=prov_dsn, provider=TemplateProvider(UsageRecorder("")), request_id=1,
                                     statement_timeout_ms=2000)
    started = time.monotonic()
    executed, failure = validator._execute(SLOW_SQL)  # the executor, behind the guard
    elapsed = time.monotonic() - started
    assert executed is None and failure is not None
    assert failure.error_type == ErrorType.PERFORMANCE_ISSUE and "did not finish within 2s" in failure.issue
    assert elapsed < 2 + GRACE_SECONDS + 1.5
    assert _quick_query_seconds(bigquery.client()) < 3  # the emulator is not stuck behind it


def test_run_query_gives_up_at_the_deadline_whatever_the_engine_does(bigquery: BigQueryEmulator) -> None:
    # The engine's own timeout is later than the client's deadline (as with an emulator that
    # ignores it): the client stops waiting at its deadline all the same.
    started = time.monotonic()
    with pytest.raises(QueryDeadlineExceeded):
        run_query(bigquery.client(), SLOW_SQL, job_config=bigquery_config(8000), timeout_seconds=1.0)
    assert time.monotonic() - started < 1.0 + GRACE_SECONDS + 1.0


def test_the_emulator_interrupts_a_job_past_its_job_timeout(bigquery: BigQueryEmulator) -> None:
    client = bigquery.client()
    _quick_query_seconds(client)  # wait for anything still running from an earlier test
    started = time.monotonic()
    with pytest.raises(GoogleAPICallError, match="timed out"):
        client.query(SLOW_SQL, job_config=bigquery_config(1500)).result(timeout=120)
    assert time.monotonic() - started < 1.5 + 2.5
    assert _quick_query_seconds(client) < 3


def bigquery_config(job_timeout_ms: int | None) -> bigquery.QueryJobConfig:
    return bigquery.QueryJobConfig(job_timeout_ms=job_timeout_ms, use_legacy_sql=False)


def test_an_engine_error_is_still_reported_with_the_engine_message(bigquery: BigQueryEmulator, prov_dsn: str) -> None:
    validator = GoldenQueryValidator(client=bigquery.client(), schema=get_template("saas").design,
                                     dataset="demo_errors", app_dsn=prov_dsn,
                                     provider=TemplateProvider(UsageRecorder("")), request_id=1)
    executed, failure = validator._execute("SELECT * FROM demo_errors.no_such_table")
    assert executed is None and failure is not None
    assert failure.error_type == ErrorType.LOGIC_ERROR
    assert failure.issue.startswith("BigQuery refused the query: Not found: Dataset") and "demo_errors" in failure.issue
