"""Session fixture ``bigquery``: the real local BigQuery emulator under the test PLATFORM_HOME.

It is started once per session (a few seconds), exported as BIGQUERY_API_ENDPOINT like
``make demo`` does, and stopped by its pid at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from google.cloud import bigquery

from datamove.bigquery import make_client
from foundation.settings import Settings, load_settings
from orchestration.stack.bigquery import ensure_emulator, stop_emulator


@dataclass(frozen=True)
class BigQueryEmulator:
    endpoint: str
    project: str
    location: str

    def client(self) -> bigquery.Client:
        return make_client(self.project, self.location, self.endpoint)

    def new_dataset_id(self, prefix: str = "t") -> str:
        """A fresh dataset name, so tests sharing the session emulator never collide."""
        return f"{self.project}.{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session", name="bigquery")
def bigquery_fixture(platform: Settings) -> Iterator[BigQueryEmulator]:
    """The emulator: ``endpoint``, ``project``, ``location`` and a ``client()`` factory."""
    os.environ.pop("BIGQUERY_API_ENDPOINT", None)  # never a configured emulator or production
    settings = load_settings()
    endpoint = ensure_emulator(settings)
    yield BigQueryEmulator(
        endpoint=endpoint, project=settings.bigquery_project, location=settings.bigquery_location
    )
    stop_emulator(settings)
