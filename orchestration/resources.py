"""Dagster resources: every connection setting arrives through ``EnvVar``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource, EnvVar

from orchestration.bigquery.resource import BigQueryResource
from orchestration.settings import load_settings, mask_dsn


class PostgresResource(ConfigurableResource):
    """A PostgreSQL database reached by DSN (app, warehouse, or the read replica)."""

    dsn: str
    application_name: str = "agent-platform"

    @contextmanager
    def connect(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.dsn, autocommit=autocommit, application_name=self.application_name) as conn:
            yield conn

    @property
    def masked_dsn(self) -> str:
        return mask_dsn(self.dsn)


def postgres_resources() -> dict[str, PostgresResource]:
    return {
        "app_db": PostgresResource(dsn=EnvVar("PLATFORM_APP_DSN")),
        "warehouse_db": PostgresResource(dsn=EnvVar("PLATFORM_WAREHOUSE_DSN")),
        "replica_db": PostgresResource(dsn=EnvVar("PLATFORM_REPLICA_DSN")),
    }


def bigquery_resource() -> BigQueryResource:
    """Each setting from its variable when set (resolved at run time), else the platform default.

    Unset ``BIGQUERY_API_ENDPOINT`` means production BigQuery with Google's default
    credentials; ``make ui``/``make demo`` export the embedded emulator's endpoint first.
    """
    settings = load_settings()

    def env_or(name: str, default: str | None) -> str | EnvVar | None:
        return EnvVar(name) if os.environ.get(name) else default

    return BigQueryResource(
        project=env_or("BIGQUERY_PROJECT", settings.bigquery_project),  # type: ignore[arg-type]
        location=env_or("BIGQUERY_LOCATION", settings.bigquery_location),  # type: ignore[arg-type]
        api_endpoint=env_or("BIGQUERY_API_ENDPOINT", None),
    )
