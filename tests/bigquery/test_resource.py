"""The Dagster resource builds a working client for the emulator and the production path."""

from __future__ import annotations

import pytest
from google.auth.exceptions import DefaultCredentialsError

from orchestration.lib.resources import BigQueryResource
from tests.bigquery_fixtures import BigQueryEmulator


def test_resource_builds_a_working_client_from_an_endpoint(bigquery: BigQueryEmulator) -> None:
    resource = BigQueryResource(project=bigquery.project, location="US", api_endpoint=bigquery.endpoint)
    with resource.get_client() as client:
        assert client.project == bigquery.project and client.location == "US"
        dataset = client.create_dataset(bigquery.new_dataset_id("res"))
        assert [d.dataset_id for d in client.list_datasets()].count(dataset.dataset_id) == 1
        assert [tuple(r.values()) for r in client.query("SELECT 1 + 1 AS two").result()] == [(2,)]


def test_from_settings_uses_the_exported_endpoint(bigquery: BigQueryEmulator) -> None:
    resource = BigQueryResource.from_settings()
    assert (resource.project, resource.api_endpoint) == (bigquery.project, bigquery.endpoint)


def test_without_endpoint_the_client_uses_google_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    with pytest.raises(DefaultCredentialsError):
        BigQueryResource(project="p", api_endpoint="").get_client()
