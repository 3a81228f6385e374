"""The Anthropic path at the graph level, through httpx2.MockTransport with realistic Messages API replies:
a malformed schema (retried with the error fed back, then replaced by the template), a 529 overload
(retried by the SDK), a golden query with a wrong column (fixed by the seed-003 loop, remembered)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

import httpx2
import pytest

from agents.llm import TEMPLATE_PROVIDER, AnthropicProvider, UsageRecorder
from agents.provisioning import insert_request, provision_request
from agents.templates import get_template
from agents.testing.fixture_sites import FixtureSites
from tests.provisioning.conftest import DepsFactory, rows

API_KEY = "sk-ant-test-not-a-real-key-provisioning"
MODEL = "claude-sonnet-4-5"
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def message(tool_input: Any, tool_name: str, n: int) -> dict[str, Any]:
    return {
        "id": f"msg_01Provisioning{n:04d}",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [
            {"type": "text", "text": "Here is the structured answer."},
            {"type": "tool_use", "id": f"toolu_01Prov{n:04d}", "name": tool_name, "input": tool_input},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 900 + n, "output_tokens": 150 + n},
    }


class ScriptedAPI:
    """Answers each forced tool from its own queue; the last answer of a queue repeats."""

    def __init__(self, script: dict[str, list[tuple[int, Any]]]) -> None:
        self.script = {tool: list(answers) for tool, answers in script.items()}
        self.requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.count = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        tool = body["tool_choice"]["name"]
        self.requests[tool].append(body)
        self.count += 1
        queue = self.script[tool]
        status, answer = queue.pop(0) if len(queue) > 1 else queue[0]
        payload = answer if status >= 400 else message(answer, tool, self.count)
        return httpx2.Response(status, json=payload, headers={"retry-after-ms": "5", "request-id": f"req_{self.count}"})


def _valid_design_with(**table_changes: Any) -> dict[str, Any]:
    design = get_template("ecommerce").design.model_dump()
    design["tables"][0].update(table_changes)
    return design


def test_anthropic_provisioning_with_retries_fallback_and_sql_repair(
    sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = insert_request(prov_dsn, sites.url_for("ecommerce"), "tests@example.com")
    dataset = f"demo_{request_id}"
    template = get_template("ecommerce")
    queries = [q.model_dump() for q in template.golden_queries_for(dataset)[:2]]
    broken = {"question": "What is the average order value by sales channel?",
              "sql": "SELECT channel, AVG(order_total) AS avg_order_value FROM " + dataset + ".orders GROUP BY channel",
              "insight": "Which channel brings bigger baskets"}
    api = ScriptedAPI({
        "emit_business_profile": [(200, {
            "business_name": "Northwind Outfitters", "domain": "ecommerce",
            "description": "Online store for sustainable apparel", "products": ["Organic cotton tees"],
            "key_entities": ["customer", "order", "product"], "source": "llm", "confidence": 0.92})],
        "emit_schema_design": [
            (200, '{"tables": [{"name": "orders", "columns": ['),  # malformed: truncated JSON
            (200, _valid_design_with(description="Shoppers'); DROP TABLE customers; --")),  # DDL in prose
            (200, _valid_design_with(primary_key=[])),  # still invalid: no primary key
        ],
        "emit_data_agent_spec": [(529, OVERLOADED), (200, {
            "display_name": "Northwind analyst",
            "instructions": "You answer questions about Northwind Outfitters' orders, customers and products.",
            "golden_queries": queries})],
        "emit_golden_query_set": [(200, {"queries": [*queries, broken]})],
        "emit_semantic_verdict": [(200, {"valid": True, "justification": "matches the intent", "confidence": 0.9})],
        "emit_sql_fix": [(200, {
            "sql": broken["sql"].replace("order_total", "total_amount"),
            "explanation": "orders has total_amount, not order_total"})],
        "emit_demo_script": [(200, {"title": "Northwind demo", "audience": "founders",
                                    "steps": [{"title": "Revenue", "talking_points": ["trend"],
                                               "question": queries[0]["question"]}]})],
    })
    provider = AnthropicProvider(api_key=API_KEY, model=MODEL, recorder=UsageRecorder(prov_dsn),
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(api)))
    caplog.set_level(logging.DEBUG)

    outcome = provision_request(request_id, make_deps(provider))

    assert outcome.status == "succeeded", outcome.error
    result = outcome.result
    assert result["provider"] == f"anthropic/{MODEL} (1 template fallback(s))"
    assert result["offline"] is False and result["llm"]["template_fallbacks"] == 1
    assert any("template schema used" in w for w in result["warnings"])
    assert set(result["tables"]) == {t.name for t in template.design.tables}  # the template replaced the answer
    # the malformed answers went back to the model as tool_result errors, one after the other
    retries = api.requests["emit_schema_design"]
    assert len(retries) == 3
    feedback = retries[1]["messages"][-1]["content"][0]
    assert feedback["type"] == "tool_result" and feedback["is_error"] and "not JSON" in feedback["content"]
    assert "SQL statements" in retries[2]["messages"][-1]["content"][0]["content"]
    # 529 then success: the SDK retried the same request
    assert len(api.requests["emit_data_agent_spec"]) == 2

    # the golden query with a wrong column failed at the guard, was fixed, and both facts were remembered
    by_question = {g["question"]: g for g in result["golden_queries"]}
    repaired = by_question[broken["question"]]
    assert repaired["status"] == "ok" and repaired["attempts"] == 2 and "total_amount" in repaired["sql"]
    assert "order_total" in repaired["errors"][0]
    fix_prompt = api.requests["emit_sql_fix"][0]["messages"][0]["content"]
    assert "order_total" in fix_prompt and "total_amount" in fix_prompt
    memory = rows(prov_dsn, "SELECT error_type, confidence, suggested_fix FROM ai_learning_memory "
                            "WHERE request_id = %s ORDER BY id", request_id)
    assert [(m[0], round(m[1], 1)) for m in memory] == [("logic_error", 0.3), ("logic_error", 0.9)]
    assert "{dataset}.orders" in memory[1][2]
    assert all(g["status"] == "ok" for g in result["golden_queries"])

    # one llm_usage row per HTTP attempt, SDK retries and the template fallback included
    usage = rows(prov_dsn, "SELECT agent_name, provider, status, prompt_tokens FROM llm_usage "
                           "WHERE request_id = %s ORDER BY id", request_id)
    statuses = [(u[0], u[1], u[2]) for u in usage]
    assert statuses[:5] == [("research", "anthropic", "ok")] + [("data_modeling", "anthropic", "invalid_output")] * 3 \
        + [("data_modeling", TEMPLATE_PROVIDER, "fallback")]
    assert statuses[5:7] == [("data_agent", "anthropic", "error:overloaded_error"), ("data_agent", "anthropic", "ok")]
    demo = [s for s in statuses if s[0] == "demo_content"]
    assert len(demo) == 1 + 3 + 1 + 1  # golden set, 3 semantic verdicts, 1 SQL fix, demo script
    assert all(s[1:] == ("anthropic", "ok") for s in demo)
    assert len(usage) == api.count + 1  # every HTTP call, plus the template fallback
    assert API_KEY not in caplog.text and API_KEY not in json.dumps(result)
