"""The platform's BigQuery resource: one client factory for Google BigQuery and the emulator.

dagster-gcp's ``BigQueryResource`` cannot override the API endpoint, so the platform
uses this one. With ``api_endpoint`` set (the embedded emulator, or any other) the
client uses anonymous credentials; without it, Google's default credentials chain
(GOOGLE_APPLICATION_CREDENTIALS, workload identity, gcloud). Credentials only ever
come from the environment and are never logged.
"""

from __future__ import annotations

import logging

from dagster import ConfigurableResource
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from orchestration.settings import Settings, load_settings

log = logging.getLogger(__name__)


def make_client(project: str, location: str = "US", api_endpoint: str | None = None) -> bigquery.Client:
    """A ``bigquery.Client`` for production (no endpoint) or an emulator (endpoint)."""
    if api_endpoint:
        log.debug("BigQuery client for project %s at %s (anonymous)", project, api_endpoint)
        return bigquery.Client(
            project=project,
            location=location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=api_endpoint),
        )
    log.debug("BigQuery client for project %s with default credentials", project)
    return bigquery.Client(project=project, location=location)


class BigQueryResource(ConfigurableResource):
    """BigQuery for exports and provisioned demos.

    Wire it with ``EnvVar`` (``BIGQUERY_PROJECT``, ``BIGQUERY_LOCATION``,
    ``BIGQUERY_API_ENDPOINT``) or ``BigQueryResource.from_settings()``.
    """

    project: str
    location: str = "US"
    api_endpoint: str | None = None

    def get_client(self) -> bigquery.Client:
        # An empty string (an unset EnvVar rendered as "") means production, like None.
        return make_client(self.project, self.location, self.api_endpoint or None)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BigQueryResource:
        settings = settings or load_settings()
        return cls(
            project=settings.bigquery_project,
            location=settings.bigquery_location,
            api_endpoint=settings.bigquery_endpoint,
        )
