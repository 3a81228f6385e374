"""Dagster resources: every connection setting arrives through ``EnvVar``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource, EnvVar

from orchestration.settings import mask_dsn


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
