"""Checkpoints, resume after a crash or a kill, the cancel flag, and the fall-backs of the research step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.provisioning import (
    CHECKPOINT_SCHEMA,
    NODE_ORDER,
    completed_nodes,
    insert_request,
    provision_request,
    request_cancel,
)
from agents.provisioning.state import ProvisioningState
from agents.testing.fixture_sites import FixtureSites
from foundation.settings import REPO_ROOT
from tests.bigquery_fixtures import BigQueryEmulator
from tests.provisioning.conftest import DepsFactory, closed_port_url, rows
from tests.provisioning.kill_worker import KILLED_EXIT_CODE


class SimulatedCrash(RuntimeError):
    """Not a transient BigQuery error: no RetryPolicy retries it, the run dies."""


def _status(dsn: str, request_id: int) -> tuple[str, str | None]:
    (status, error), = rows(dsn, "SELECT status, error FROM provisioning_requests WHERE id = %s", request_id)
    return status, error


def _llm_rows(dsn: str, request_id: int, agent: str) -> int:
    (count,), = rows(dsn, "SELECT count(*) FROM llm_usage WHERE request_id = %s AND agent_name = %s", request_id, agent)
    return int(count)


def test_a_crashed_run_resumes_after_its_last_completed_node(
    sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str
) -> None:
    request_id = insert_request(prov_dsn, sites.url_for("logistics"), "tests@example.com")

    def crash(node: str, state: ProvisioningState) -> None:
        if node == "infrastructure":
            raise SimulatedCrash("worker lost while loading BigQuery")

    first = make_deps(before_node=crash)
    with pytest.raises(SimulatedCrash):
        provision_request(request_id, first)
    assert first.node_runs == {"research": 1, "data_modeling": 1, "infrastructure": 1}
    assert _status(prov_dsn, request_id) == ("failed", "SimulatedCrash: worker lost while loading BigQuery")
    assert completed_nodes(prov_dsn, request_id) == ["research", "data_modeling"]
    (tables,), = rows(prov_dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = %s", CHECKPOINT_SCHEMA)
    assert tables >= 3  # checkpoints live in their own schema of the app database

    second = make_deps()  # same thread id (the request id): the run picks up where it stopped
    outcome = provision_request(request_id, second)
    assert outcome.status == "succeeded", outcome.error
    assert second.node_runs == {"infrastructure": 1, "data_agent": 1, "demo_content": 1}
    assert outcome.result["completed_nodes"] == list(NODE_ORDER)
    assert _llm_rows(prov_dsn, request_id, "research") == 1  # research was not paid for twice
    assert _llm_rows(prov_dsn, request_id, "data_modeling") == 1


def test_a_killed_worker_resumes_from_the_checkpoint(
    sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str, bigquery: BigQueryEmulator, work_dir: Path
) -> None:
    request_id = insert_request(prov_dsn, sites.url_for("insurance"), "tests@example.com")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    killed = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "tests.provisioning.kill_worker", prov_dsn, bigquery.endpoint, bigquery.project,
         str(work_dir), str(request_id), "data_agent"],
        cwd=REPO_ROOT, env=env, capture_output=True, timeout=300, check=False,
    )
    assert killed.returncode == KILLED_EXIT_CODE, killed.stderr.decode()[-2000:]
    assert completed_nodes(prov_dsn, request_id) == ["research", "data_modeling", "infrastructure"]
    assert _status(prov_dsn, request_id)[0] == "running"  # nobody wrote an outcome: the process just died

    resumed = make_deps()
    outcome = provision_request(request_id, resumed)
    assert outcome.status == "succeeded", outcome.error
    assert resumed.node_runs == {"data_agent": 1, "demo_content": 1}
    assert _status(prov_dsn, request_id) == ("succeeded", None)


def test_the_cancel_flag_stops_the_graph_between_nodes(
    sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str, bigquery: BigQueryEmulator
) -> None:
    request_id = insert_request(prov_dsn, sites.url_for("nonprofit"), "tests@example.com")

    def cancel_during_modeling(node: str, state: ProvisioningState) -> None:
        if node == "data_modeling":  # a person presses cancel while the schema is being designed
            request_cancel(prov_dsn, request_id)

    deps = make_deps(before_node=cancel_during_modeling)
    outcome = provision_request(request_id, deps)
    assert outcome.status == "cancelled"
    assert deps.node_runs == {"research": 1, "data_modeling": 1}  # the running node finished, nothing after it
    assert _status(prov_dsn, request_id) == ("cancelled", "cancelled by request before infrastructure")
    datasets = {d.dataset_id for d in bigquery.client().list_datasets()}
    assert f"demo_{request_id}" not in datasets


def test_an_unreachable_site_falls_back_to_the_manual_input(make_deps: DepsFactory, prov_dsn: str) -> None:
    manual = {"business_name": "Bright Smiles Dental", "domain": "healthcare_clinic",
              "products": ["Cleanings", "Implants"]}
    request_id = insert_request(prov_dsn, closed_port_url(), "tests@example.com", manual)
    outcome = provision_request(request_id, make_deps())
    assert outcome.status == "succeeded", outcome.error
    result = outcome.result
    assert (result["business_name"], result["domain"], result["profile_source"]) == (
        "Bright Smiles Dental", "healthcare_clinic", "manual")
    assert "fetch_error" in result["research"]
    assert any("site unreachable" in w for w in result["warnings"])
    assert result["golden_queries_ok"] == len(result["golden_queries"]) > 0


def test_a_hostile_url_is_refused_with_its_reason(sites: FixtureSites, make_deps: DepsFactory, prov_dsn: str) -> None:
    # The fixture page redirects to the cloud metadata address: the guard stops the second hop.
    request_id = insert_request(prov_dsn, sites.url("/redirect/metadata"), "tests@example.com")
    outcome = provision_request(request_id, make_deps())
    assert outcome.status == "failed"
    status, error = _status(prov_dsn, request_id)
    assert status == "failed" and error is not None
    assert "URL refused" in error and "metadata" in error and "--manual-business-name" in error
    assert outcome.result["completed_nodes"] == []

    with_manual = insert_request(prov_dsn, "http://169.254.169.254/latest/meta-data/", "tests@example.com",
                                 {"business_name": "Ridgeway Freight", "domain": "logistics"})
    deps = make_deps()
    refused = provision_request(with_manual, deps)
    assert refused.status == "succeeded", refused.error
    assert "metadata" in refused.result["research"]["url_refused"]
    assert refused.result["profile_source"] == "manual"
