"""The provisioning package's own resource (``provisioning``) and where its files go.

``bigquery`` is the exports package's ``BigQueryResource`` (one client configuration for the
whole code location); ``app_db`` comes from ``orchestration.resources``.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from agents.guards.url import DEFAULT_URL_POLICY, URLPolicy
from orchestration.settings import load_settings


def provisioning_work_dir() -> Path:
    """Where the synthetic Parquet files of each request are written before loading."""
    return load_settings().home / "provisioning"


class ProvisioningSettings(ConfigurableResource):
    """Limits of a provisioning run (resource key ``provisioning``)."""

    row_scale: float = Field(default=1.0, gt=0, le=1.0, description="share of each table's designed row count")
    max_rows: int = Field(default=250_000, ge=1, description="cap on the rows generated per table")
    statement_timeout_ms: int = Field(default=30_000, ge=1000, description="job timeout of each golden query")
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="hosts exempt from the URL guard's address checks: for tests against a local fixture site only",
    )

    def url_policy(self) -> URLPolicy:
        return URLPolicy(allow_hosts=frozenset(self.allow_hosts)) if self.allow_hosts else DEFAULT_URL_POLICY
