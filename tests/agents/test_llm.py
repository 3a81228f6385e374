"""LLM providers: structured output through a forced tool, retries, template fallback, usage rows."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx2
import psycopg
import pytest

from agents.llm import (
    TEMPLATE_MODEL,
    TEMPLATE_PROVIDER,
    AnthropicProvider,
    TemplateProvider,
    UsageRecorder,
    get_provider,
    tool_name_for,
)
from agents.schemas import BusinessProfile, DataAgentSpec, DemoScript, GoldenQuerySet, SchemaDesign

API_KEY = "sk-ant-test-not-a-real-key-123"
MODEL = "claude-sonnet-4-5"
_request_ids = itertools.count(900_001)

PROFILE = {
    "business_name": "Flowboard",
    "domain": "saas",
    "description": "Workflow automation for teams",
    "products": ["Workflow builder", "Integrations"],
    "key_entities": ["account", "subscription", "user"],
    "source": "llm",
    "confidence": 0.9,
}


def message(tool_input: Any, tool_name: str, *, input_tokens: int = 812, output_tokens: int = 145) -> dict[str, Any]:
    """A realistic Messages API response whose content is one tool call."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": tool_name, "input": tool_input}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


class FakeAPI:
    """Serves queued responses through httpx2.MockTransport and keeps every request body."""

    def __init__(self, responses: list[tuple[int, dict[str, Any]]]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx2.Headers] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        self.headers.append(request.headers)
        status, body = self.responses.pop(0)
        # retry-after-ms keeps the SDK's retry wait short in tests.
        return httpx2.Response(status, json=body, headers={"retry-after-ms": "5", "request-id": "req_test"})

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))


@pytest.fixture()
def usage_rows(app_dsn: str) -> Callable[[int], list[tuple[Any, ...]]]:
    def rows(request_id: int) -> list[tuple[Any, ...]]:
        with psycopg.connect(app_dsn) as conn:
            return conn.execute(
                "SELECT provider, model, prompt_tokens, completion_tokens, latency_ms, agent_name, status "
                "FROM llm_usage WHERE request_id = %s ORDER BY id",
                (request_id,),
            ).fetchall()

    return rows


def provider_for(api: FakeAPI, app_dsn: str) -> AnthropicProvider:
    return AnthropicProvider(
        api_key=API_KEY, model=MODEL, recorder=UsageRecorder(app_dsn), http_client=api.client(), max_retries=2
    )


def test_valid_tool_call(app_dsn: str, usage_rows: Callable[[int], list[tuple[Any, ...]]]) -> None:
    tool = tool_name_for(BusinessProfile)
    api = FakeAPI([(200, message(PROFILE, tool))])
    request_id = next(_request_ids)
    result = provider_for(api, app_dsn).complete_json(
        agent="research", system="You research companies.", prompt="Site text: Flowboard ...",
        output_model=BusinessProfile, request_id=request_id,
    )
    assert result.output.business_name == "Flowboard" and result.output.domain == "saas"
    assert (result.provider, result.model, result.fallback) == ("anthropic", MODEL, False)
    assert (result.prompt_tokens, result.completion_tokens) == (812, 145)
    sent = api.requests[0]
    assert sent["tool_choice"] == {"type": "tool", "name": tool}
    assert sent["tools"][0]["name"] == tool
    assert sent["tools"][0]["input_schema"]["properties"]["business_name"]
    assert sent["model"] == MODEL and sent["system"] == "You research companies."
    # The SDK authenticates with the key (x-api-key or a bearer token, depending on its version).
    assert API_KEY in (api.headers[0].get("x-api-key") or api.headers[0].get("authorization", ""))
    rows = usage_rows(request_id)
    assert len(rows) == 1
    provider, model, prompt_tokens, completion_tokens, latency_ms, agent, status = rows[0]
    assert (provider, model, prompt_tokens, completion_tokens, agent, status) == (
        "anthropic", MODEL, 812, 145, "research", "ok",
    )
    assert latency_ms is not None and latency_ms >= 0


def test_malformed_tool_call_is_retried_then_falls_back_to_templates(
    app_dsn: str, usage_rows: Callable[[int], list[tuple[Any, ...]]], caplog: pytest.LogCaptureFixture
) -> None:
    tool = tool_name_for(BusinessProfile)
    api = FakeAPI(
        [
            (200, message({"business_name": 42}, tool)),  # wrong shape
            (200, message("{not json", tool)),  # not JSON
            (200, message({"name": "Flowboard"}, tool)),  # still missing fields
        ]
    )
    request_id = next(_request_ids)
    caplog.set_level(logging.DEBUG)
    result = provider_for(api, app_dsn).complete_json(
        agent="research", system="s", prompt="Flowboard: workflow automation SaaS, start your free trial",
        output_model=BusinessProfile, request_id=request_id, context={"business_name": "Flowboard"},
    )
    assert result.fallback and result.provider == TEMPLATE_PROVIDER and result.model == TEMPLATE_MODEL
    assert result.fallback_reason and "validation" in result.fallback_reason
    assert result.output.business_name == "Flowboard" and result.output.domain == "saas"
    assert result.output.source == "template"
    # The validation error went back to the model as a tool_result with is_error.
    retry = api.requests[1]["messages"]
    assert retry[1]["role"] == "assistant" and retry[1]["content"][0]["type"] == "tool_use"
    feedback = retry[2]["content"][0]
    assert feedback["type"] == "tool_result" and feedback["is_error"] is True
    assert "business_name" in feedback["content"]
    statuses = [(row[0], row[6]) for row in usage_rows(request_id)]
    assert statuses == [("anthropic", "invalid_output")] * 3 + [(TEMPLATE_PROVIDER, "fallback")]
    assert API_KEY not in caplog.text


def test_ddl_where_sql_is_expected_is_fed_back(app_dsn: str, usage_rows: Callable[[int], list[tuple[Any, ...]]]) -> None:
    tool = tool_name_for(GoldenQuerySet)
    bad = {"queries": [{"question": "Drop everything please", "sql": "DROP TABLE demo.orders"}]}
    good = {"queries": [{"question": "Orders per month?", "sql": "SELECT COUNT(*) AS n FROM demo.orders"}]}
    api = FakeAPI([(200, message(bad, tool)), (200, message(good, tool))])
    request_id = next(_request_ids)
    result = provider_for(api, app_dsn).complete_json(
        agent="demo_content", system="s", prompt="p", output_model=GoldenQuerySet, request_id=request_id
    )
    assert not result.fallback and result.output.queries[0].sql.startswith("SELECT")
    assert "DROP" in api.requests[1]["messages"][2]["content"][0]["content"]
    assert [row[6] for row in usage_rows(request_id)] == ["invalid_output", "ok"]
    assert result.prompt_tokens == 2 * 812


def test_overloaded_529_is_retried_by_the_sdk(app_dsn: str, usage_rows: Callable[[int], list[tuple[Any, ...]]]) -> None:
    tool = tool_name_for(BusinessProfile)
    api = FakeAPI([(529, OVERLOADED), (200, message(PROFILE, tool))])
    request_id = next(_request_ids)
    result = provider_for(api, app_dsn).complete_json(
        agent="research", system="s", prompt="p", output_model=BusinessProfile, request_id=request_id
    )
    assert not result.fallback and result.output.business_name == "Flowboard"
    assert len(api.requests) == 2
    assert [(row[0], row[6]) for row in usage_rows(request_id)] == [
        ("anthropic", "error:overloaded_error"), ("anthropic", "ok"),
    ]


def test_persistent_overload_falls_back_after_sdk_retries(
    app_dsn: str, usage_rows: Callable[[int], list[tuple[Any, ...]]]
) -> None:
    api = FakeAPI([(529, OVERLOADED)] * 3)
    request_id = next(_request_ids)
    result = provider_for(api, app_dsn).complete_json(
        agent="data_modeling", system="s", prompt="p", output_model=SchemaDesign, request_id=request_id,
        context={"domain": "restaurant"},
    )
    assert result.fallback and result.output.table("tickets")
    assert len(api.requests) == 3  # 1 + max_retries=2
    assert [row[6] for row in usage_rows(request_id)] == ["error:overloaded_error"] * 3 + ["fallback"]


def test_template_provider_is_labelled_and_recorded(
    app_dsn: str, usage_rows: Callable[[int], list[tuple[Any, ...]]]
) -> None:
    provider = TemplateProvider(UsageRecorder(app_dsn))
    request_id = next(_request_ids)
    context = {"domain": "fintech", "business_name": "Clearpath Bank", "dataset": "clearpath_demo"}
    for model in (BusinessProfile, SchemaDesign, GoldenQuerySet, DataAgentSpec, DemoScript):
        result = provider.complete_json(
            agent="demo", system="system", prompt="x" * 400, output_model=model, request_id=request_id, context=context
        )
        assert result.provider == "offline-template" and result.model == "templates-v1"
        assert result.metadata()["provider"] == "offline-template"
    spec = provider.complete_json(agent="data_agent", system="", prompt="", output_model=DataAgentSpec, context=context)
    assert "clearpath_demo." in spec.output.golden_queries[0].sql
    rows = usage_rows(request_id)
    assert len(rows) == 5
    assert all(r[0] == "offline-template" and r[6] == "ok" and r[2] >= 100 and r[3] > 0 for r in rows)


def test_template_provider_is_deterministic_and_detects_the_domain() -> None:
    provider = TemplateProvider(UsageRecorder(dsn=""))
    prompt = "Casa Azul is a boutique hotel. Book your stay; ocean view suites and spa."
    first = provider.complete_json(agent="research", system="", prompt=prompt, output_model=BusinessProfile)
    second = provider.complete_json(agent="research", system="", prompt=prompt, output_model=BusinessProfile)
    assert first.output == second.output and first.output.domain == "hospitality"


def test_get_provider_picks_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert isinstance(get_provider(recorder=UsageRecorder(dsn="")), TemplateProvider)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    provider = get_provider(recorder=UsageRecorder(dsn=""), model=MODEL)
    assert isinstance(provider, AnthropicProvider)
    assert API_KEY not in repr(provider) and API_KEY not in str(vars(provider))
