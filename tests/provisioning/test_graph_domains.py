"""Offline end to end: every built-in domain's fixture website becomes a working demo."""

from __future__ import annotations

import pytest

from agents.llm import TEMPLATE_MODEL, TEMPLATE_PROVIDER
from agents.provisioning import NODE_ORDER, completed_nodes, insert_request, provision_request
from agents.testing.fixture_sites import SITES, FixtureSites
from tests.bigquery_fixtures import BigQueryEmulator
from tests.provisioning.conftest import DepsFactory, rows

DOMAINS = sorted(SITES)


@pytest.mark.parametrize("domain", DOMAINS)
def test_fixture_site_is_provisioned_offline(
    domain: str, sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str, bigquery: BigQueryEmulator
) -> None:
    request_id = insert_request(prov_dsn, sites.url_for(domain), "tests@example.com")
    outcome = provision_request(request_id, make_deps())

    assert outcome.status == "succeeded", outcome.error
    result = outcome.result
    assert result["business_name"] == SITES[domain].business_name
    assert result["domain"] == domain
    assert result["profile_source"] == "web"
    # the offline provider is labelled as such wherever the outcome is shown
    assert result["provider"] == f"{TEMPLATE_PROVIDER}/{TEMPLATE_MODEL}"
    assert result["offline"] is True

    # BigQuery holds exactly what was generated, table by table
    client = bigquery.client()
    assert result["dataset"] == f"{bigquery.project}.demo_{request_id}"
    for table, count in result["tables"].items():
        assert count > 0
        (loaded,) = list(client.query(f"SELECT COUNT(*) AS n FROM `{result['dataset']}.{table}`").result())
        assert loaded["n"] == count

    # every golden query passed syntax → semantics → execution → shape, first time
    golden = result["golden_queries"]
    assert golden and all(g["status"] == "ok" and g["rows"] > 0 and g["attempts"] == 1 for g in golden)
    assert result["golden_queries_ok"] == len(golden)
    assert result["demo_script"]["steps"]

    # the request row, the data agent and the cost rows tell the same story
    (status, error, started, finished), = rows(
        prov_dsn, "SELECT status, error, started_at, finished_at FROM provisioning_requests WHERE id = %s", request_id)
    assert (status, error) == ("succeeded", None) and started <= finished
    (dataset, queries), = rows(prov_dsn, "SELECT dataset, golden_queries FROM data_agents WHERE request_id = %s",
                               request_id)
    assert dataset == result["dataset"] and len(queries) == len(golden)
    usage = rows(prov_dsn, "SELECT agent_name, provider, model, status, prompt_tokens FROM llm_usage "
                           "WHERE request_id = %s", request_id)
    assert len(usage) == result["llm"]["calls"] == result["llm"]["attempts"]
    assert {u[0] for u in usage} == {"research", "data_modeling", "data_agent", "demo_content"}
    assert all(u[1:4] == (TEMPLATE_PROVIDER, TEMPLATE_MODEL, "ok") and u[4] > 0 for u in usage)
    assert completed_nodes(prov_dsn, request_id) == list(NODE_ORDER)


def test_a_finished_request_is_not_provisioned_twice(
    sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str
) -> None:
    request_id = insert_request(prov_dsn, sites.url_for("saas"), "tests@example.com")
    first = provision_request(request_id, make_deps())
    again = make_deps()
    second = provision_request(request_id, again)
    assert first.status == second.status == "succeeded"
    assert again.node_runs == {}  # the checkpoint says it is done: no node ran again
    assert second.result["dataset"] == first.result["dataset"]
    (calls,), = rows(prov_dsn, "SELECT count(*) FROM llm_usage WHERE request_id = %s", request_id)
    assert calls == first.result["llm"]["calls"]
