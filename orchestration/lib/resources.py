"""The platform's Dagster resource classes; ``orchestration/defs/resources.py`` binds one of each.

Every connection setting arrives through ``EnvVar`` (resolved at run time) or, for the
embedded defaults, from ``foundation.settings``; secrets are never part of the config shown
in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from foundation.connections import CLOCK_SETTING, connect, pin_clock
from foundation.replica import ML_SESSION, ReplicaPolicy, ReplicaReads
from foundation.settings import Settings, load_settings, mask_dsn
from foundation.settings import now as platform_now

if TYPE_CHECKING:
    from dagster import AssetCheckExecutionContext, AssetExecutionContext
    from google.cloud import bigquery

    from agents.guards.url import URLPolicy
    from ml import PostgresML


class PostgresResource(ConfigurableResource):
    """A PostgreSQL database reached by DSN (app, warehouse, or the read replica)."""

    dsn: str
    application_name: str = "agent-platform"

    @contextmanager
    def connect(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection with the platform's session settings, retried while the database is unreachable."""
        with connect(self.dsn, autocommit=autocommit, application_name=self.application_name) as conn:
            yield conn

    @property
    def masked_dsn(self) -> str:
        return mask_dsn(self.dsn)


FAILOVER_TAG = "platform/reads_failover"

def replica_reads(warehouse_db: PostgresResource, replica_db: PostgresResource,
                  context: AssetExecutionContext | AssetCheckExecutionContext | None = None,
                  session: dict[str, str] | None = None) -> ReplicaReads:
    """Where this step's reads go (``foundation.replica``): the replica, or on a fail-over the primary,
    which the step's log and the run's tag ``platform/reads_failover`` then say. Every read session
    carries the platform's clock (views and rules that ask for "now" see the pinned day)."""
    session = {CLOCK_SETTING: platform_now().isoformat(), **(session or {})}
    reads = ReplicaReads.open(warehouse_db.dsn, replica_db.dsn, ReplicaPolicy.from_settings(load_settings()), session)
    if reads.route.warning and context is not None:
        context.log.warning(reads.route.warning)
        context.instance.add_run_tags(context.run.run_id, {FAILOVER_TAG: "replica unreachable: reads on the primary"})
    return reads


@contextmanager
def postgresml(warehouse_db: PostgresResource, replica_db: PostgresResource,
               context: AssetExecutionContext | AssetCheckExecutionContext | None = None) -> Iterator[PostgresML]:
    """PostgresML on the warehouse (catalog writes), reading training and scoring data on the replica in
    seed 003's ML session (read-only, statement timeout, work_mem); artifacts signed and verified with
    PLATFORM_MODEL_SIGNING_KEY. ``ml.reads.metadata()`` says where the reads went."""
    # the ML libraries load where models are trained or scored, not with the code location
    from ml import PostgresML

    key = load_settings().require_model_signing_key()
    reads = replica_reads(warehouse_db, replica_db, context, dict(ML_SESSION))
    with (warehouse_db.connect(autocommit=True) as conn,
          PostgresML(conn, reads=reads, signing_key=key) as ml):
        pin_clock(conn)  # the catalog stamps models on the platform's clock (their age is judged on it)
        yield ml


def read_metadata(ml: PostgresML) -> dict[str, Any]:
    """Where an ML step's reads went, for its materialization or check metadata."""
    return ml.reads.metadata() if ml.reads is not None else {}


class BigQueryResource(ConfigurableResource):
    """BigQuery for exports and provisioned demos: Google BigQuery, or an emulator at ``api_endpoint``.

    dagster-gcp's ``BigQueryResource`` has no endpoint override (docs/bigquery.md), so the
    platform keeps this one; wire it with ``EnvVar`` or ``BigQueryResource.from_settings()``.
    """

    project: str
    location: str = "US"
    api_endpoint: str | None = None

    def get_client(self) -> bigquery.Client:
        from datamove.bigquery import make_client  # the Google client loads in the runs that use it

        # An empty string (an unset EnvVar rendered as "") means production, like None.
        return make_client(self.project, self.location, self.api_endpoint or None)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BigQueryResource:
        settings = settings or load_settings()
        return cls(project=settings.bigquery_project, location=settings.bigquery_location,
                   api_endpoint=settings.bigquery_endpoint)


class ArchiveStorage(ConfigurableResource):
    """Root of the Parquet archive: a local folder or ``gs://bucket/prefix`` (fsspec)."""

    url: str


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
        from agents.guards.url import DEFAULT_URL_POLICY, URLPolicy

        return URLPolicy(allow_hosts=frozenset(self.allow_hosts)) if self.allow_hosts else DEFAULT_URL_POLICY


def provisioning_work_dir() -> Path:
    """Where the synthetic Parquet files of each request are written before loading."""
    return load_settings().home / "provisioning"


def _env_or(name: str, default: str | None) -> str | EnvVar | None:
    """The variable, resolved at run time, when it is set now; else the platform default."""
    return EnvVar(name) if os.environ.get(name) else default


def postgres_resources() -> dict[str, PostgresResource]:
    return {
        "app_db": PostgresResource(dsn=EnvVar("PLATFORM_APP_DSN")),
        "warehouse_db": PostgresResource(dsn=EnvVar("PLATFORM_WAREHOUSE_DSN")),
        "replica_db": PostgresResource(dsn=EnvVar("PLATFORM_REPLICA_DSN")),
    }


def bigquery_resource() -> BigQueryResource:
    """Unset ``BIGQUERY_API_ENDPOINT`` means production BigQuery with Google's default
    credentials; ``make ui``/``make demo`` export the embedded emulator's endpoint first."""
    settings = load_settings()
    return BigQueryResource(
        project=_env_or("BIGQUERY_PROJECT", settings.bigquery_project),  # type: ignore[arg-type]
        location=_env_or("BIGQUERY_LOCATION", settings.bigquery_location),  # type: ignore[arg-type]
        api_endpoint=_env_or("BIGQUERY_API_ENDPOINT", None),
    )


def archive_storage_resource() -> ArchiveStorage:
    """``ARCHIVE_URL`` when set, else the default folder under PLATFORM_HOME."""
    return ArchiveStorage(url=_env_or("ARCHIVE_URL", load_settings().archive_url))  # type: ignore[arg-type]
