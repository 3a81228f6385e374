"""The seed-003 loop on a real provisioned dataset: syntax → semantics → execution → shape, capped
retries, failures and fixes in ai_learning_memory, and fixes reused by the next request."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import httpx2
import pytest

from agents.llm import AnthropicProvider, UsageRecorder, get_provider
from agents.provisioning import insert_request
from agents.provisioning.infrastructure import provision_dataset
from agents.provisioning.synthetic import generate_dataset
from agents.provisioning.validation import MAX_SQL_RETRIES, GoldenQueryValidator
from agents.schemas import GoldenQuery
from agents.templates import get_template
from tests.bigquery_fixtures import BigQueryEmulator
from tests.provisioning.conftest import rows
from tests.provisioning.test_anthropic_path import API_KEY, MODEL, ScriptedAPI

TEMPLATE = get_template("ecommerce")
MONTHLY = TEMPLATE.questions[0]


@pytest.fixture(scope="module")
def dataset(bigquery: BigQueryEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = f"validation_{uuid.uuid4().hex[:8]}"
    files = generate_dataset(TEMPLATE.design, tmp_path_factory.mktemp("validation"), request_id=1,
                             anchor=date(2025, 6, 1), row_scale=0.02)
    provision_dataset(bigquery.client(), dataset=name, schema=TEMPLATE.design, files=files)
    return name


def _validator(bigquery: BigQueryEmulator, dsn: str, dataset: str, request_id: int, provider=None,  # type: ignore[no-untyped-def]
               **kwargs) -> GoldenQueryValidator:
    return GoldenQueryValidator(
        client=bigquery.client(), schema=TEMPLATE.design, dataset=dataset, app_dsn=dsn,
        provider=provider or get_provider(recorder=UsageRecorder(dsn)), request_id=request_id,
        template_sql={q.question: q.sql for q in TEMPLATE.questions}, **kwargs,
    )


def _memory(dsn: str, request_id: int) -> list[tuple[str, float, str]]:
    found = rows(dsn, "SELECT error_type, confidence, learning_context->>'kind' FROM ai_learning_memory "
                      "WHERE request_id = %s ORDER BY id", request_id)
    return [(e, round(c, 1), k) for e, c, k in found]


def test_a_syntax_error_is_fixed_offline_and_remembered(bigquery: BigQueryEmulator, prov_dsn: str, dataset: str,
                                                        tmp_path: Path) -> None:
    request_id = insert_request(prov_dsn, "https://example.com/", "tests")
    broken = GoldenQuery(question=MONTHLY.question, sql=f"SELEC COUNT(*) FROM {dataset}.orders")
    outcome = _validator(bigquery, prov_dsn, dataset, request_id).validate(broken)
    assert outcome.ok and outcome.rows > 0
    assert [a["stage"] for a in outcome.attempts] == ["syntax", "passed"]
    assert _memory(prov_dsn, request_id) == [("syntax_error", 0.3, "failure"), ("syntax_error", 0.9, "fix")]


@pytest.mark.parametrize(
    ("sql", "stage", "error_type"),
    [
        ("DELETE FROM {d}.orders WHERE TRUE", "guard", "unsafe_sql"),
        ("SELECT status, COUNT(*) AS orders FROM {d}.orders; DROP TABLE {d}.orders", "guard", "unsafe_sql"),
        ("SELECT order_total FROM {d}.orders", "guard", "logic_error"),
        ("SELECT name FROM {d}.products", "semantic", "semantic_mismatch"),
        ("SELECT DATE_TRUNC(order_date, MONTH) AS month, COUNT(*) AS orders FROM {d}.orders WHERE FALSE "
         "GROUP BY month", "shape", "data_inconsistency"),
    ],
)
def test_each_stage_catches_its_failure(bigquery: BigQueryEmulator, prov_dsn: str, dataset: str, sql: str,
                                        stage: str, error_type: str) -> None:
    request_id = insert_request(prov_dsn, "https://example.com/", "tests")
    validator = _validator(bigquery, prov_dsn, dataset, request_id)
    failure, _ = validator.check("How many orders per month?", sql.format(d=dataset))
    assert failure is not None and (failure.stage, failure.error_type.value) == (stage, error_type)
    (count,) = list(bigquery.client().query(f"SELECT COUNT(*) AS n FROM {dataset}.orders").result())
    assert count["n"] > 0  # nothing refused was ever executed


def test_retries_are_capped_and_the_query_is_reported_failed(bigquery: BigQueryEmulator, prov_dsn: str,
                                                             dataset: str) -> None:
    request_id = insert_request(prov_dsn, "https://example.com/", "tests")
    still_wrong = {"sql": f"SELECT channel, AVG(order_total) AS avg_order_value FROM {dataset}.orders GROUP BY channel"}
    api = ScriptedAPI({"emit_sql_fix": [(200, still_wrong)],
                       "emit_semantic_verdict": [(200, {"valid": True, "confidence": 0.9})]})
    provider = AnthropicProvider(api_key=API_KEY, model=MODEL, recorder=UsageRecorder(prov_dsn),
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(api)))
    outcome = _validator(bigquery, prov_dsn, dataset, request_id, provider, llm_judge=True).validate(
        GoldenQuery(question="What is the average order value per channel?", sql=still_wrong["sql"]))
    assert outcome.status == "failed"
    assert len(outcome.attempts) == 1 + MAX_SQL_RETRIES
    assert len(api.requests["emit_sql_fix"]) == MAX_SQL_RETRIES
    assert len(_memory(prov_dsn, request_id)) == 1 + MAX_SQL_RETRIES


def test_a_fix_made_for_one_request_is_reused_offline_by_the_next(bigquery: BigQueryEmulator, prov_dsn: str,
                                                                 dataset: str) -> None:
    question = f"Which order statuses are most common ({uuid.uuid4().hex[:6]})?"  # not a template question
    wrong = f"SELECT state, COUNT(*) AS orders FROM {dataset}.orders GROUP BY state"
    fixed = f"SELECT status, COUNT(*) AS orders FROM {dataset}.orders GROUP BY status ORDER BY orders DESC"
    api = ScriptedAPI({"emit_sql_fix": [(200, {"sql": fixed})],
                       "emit_semantic_verdict": [(200, {"valid": True, "confidence": 0.95})]})
    llm = AnthropicProvider(api_key=API_KEY, model=MODEL, recorder=UsageRecorder(prov_dsn),
                            http_client=httpx2.Client(transport=httpx2.MockTransport(api)))
    first = insert_request(prov_dsn, "https://example.com/", "tests")
    assert _validator(bigquery, prov_dsn, dataset, first, llm, llm_judge=True).validate(
        GoldenQuery(question=question, sql=wrong)).ok

    second = insert_request(prov_dsn, "https://example.com/", "tests")  # offline, no LLM to ask
    outcome = _validator(bigquery, prov_dsn, dataset, second).validate(GoldenQuery(question=question, sql=wrong))
    assert outcome.ok and outcome.sql == fixed
    assert [a["stage"] for a in outcome.attempts] == ["guard", "passed"]


def test_without_llm_memory_or_template_the_loop_gives_up_at_once(bigquery: BigQueryEmulator, prov_dsn: str,
                                                                  dataset: str) -> None:
    request_id = insert_request(prov_dsn, "https://example.com/", "tests")
    outcome = _validator(bigquery, prov_dsn, dataset, request_id).validate(
        GoldenQuery(question=f"Something nobody asked before {uuid.uuid4().hex[:6]}?",
                    sql=f"SELECT nope FROM {dataset}.orders"))
    assert outcome.status == "failed" and outcome.attempts[-1]["stage"] == "gave_up"
