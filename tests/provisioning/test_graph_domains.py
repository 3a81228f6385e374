"""Offline end to end: a built-in domain's fixture website becomes a working demo.

CI provisions three domains that between them have every column type the templates use
(education: all seven; restaurant: the most tables; media_streaming: no NUMERIC, three tables);
``bench/provision.py`` provisions all twenty at the designed row counts. What BigQuery holds is
compared with the synthetic Parquet files the data-modeling node wrote, read here with pyarrow.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from google.cloud import bigquery as bq

from agents.llm import TEMPLATE_MODEL, TEMPLATE_PROVIDER
from agents.provisioning import NODE_ORDER, completed_nodes, insert_request, provision_request
from agents.schemas import SchemaDesign
from agents.testing.fixture_sites import SITES, FixtureSites
from tests.bigquery_fixtures import BigQueryEmulator
from tests.provisioning.conftest import DepsFactory, rows

DOMAINS = ["education", "media_streaming", "restaurant"]
_SUMMED = {"INT64", "NUMERIC", "FLOAT64"}


def _generated(path: str, columns: list[str]) -> dict[str, Any]:
    """Rows and per-column sums of one generated Parquet file, computed from the file itself."""
    table = pq.read_table(path)
    totals: dict[str, Any] = {"rows": table.num_rows}
    for name in columns:
        total = pc.sum(table.column(name)).as_py()
        totals[name] = Decimal(str(total)) if total is not None else None
    return totals


def _loaded(client: bq.Client, table_id: str, columns: list[str]) -> dict[str, Any]:
    sums = "".join(f", SUM({c}) AS {c}" for c in columns)
    (row,) = list(client.query(f"SELECT COUNT(*) AS rows{sums} FROM `{table_id}`").result())
    return {"rows": row["rows"], **{c: None if row[c] is None else Decimal(str(row[c])) for c in columns}}


def _close(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and abs(a - b) <= Decimal("1e-6") * max(1, abs(a)))


def test_the_ci_domains_cover_every_column_type_of_the_templates() -> None:
    from agents.templates import get_template, list_domains

    def types(domain: str) -> set[str]:
        return {c.type for t in get_template(domain).design.tables for c in t.columns}

    assert set(DOMAINS) <= set(SITES)
    assert set().union(*(types(d) for d in DOMAINS)) == set().union(*(types(d) for d in list_domains()))


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

    # BigQuery holds exactly what was generated, table by table: the rows and the sum of every number
    # column of the Parquet file the data-modeling node wrote, against BigQuery's own aggregates
    client = bigquery.client()
    assert result["dataset"] == f"{bigquery.project}.demo_{request_id}"
    design = SchemaDesign.model_validate(outcome.state["schema"])
    files = outcome.state["data_files"]
    assert set(result["tables"]) == set(files) == {t.name for t in design.tables}
    for spec in design.tables:
        numbers = [c.name for c in spec.columns if c.type in _SUMMED]
        generated = _generated(files[spec.name]["path"], numbers)
        assert Path(files[spec.name]["path"]).stat().st_size > 0 and generated["rows"] > 0
        assert result["tables"][spec.name] == generated["rows"], spec.name
        loaded = _loaded(client, f"{result['dataset']}.{spec.name}", numbers)
        mismatched = {c: (generated[c], loaded[c]) for c in ["rows", *numbers] if not _close(generated[c], loaded[c])}
        assert mismatched == {}, spec.name

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
