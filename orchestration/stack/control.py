"""Bring the embedded stack up and down as a whole (PostgreSQL, migrations, Dagster home)."""

from __future__ import annotations

import logging
import os
import shutil

from foundation.connections import sqlalchemy_url
from foundation.settings import REPO_ROOT, Settings, load_settings
from orchestration.db.migrate import upgrade
from orchestration.stack.bigquery import ensure_emulator, stop_emulator
from orchestration.stack.postgres import ensure_environment, replica_dir, stop_postgres

log = logging.getLogger(__name__)


def stack_up() -> Settings:
    """Start what production variables do not replace, migrate the app database, prepare DAGSTER_HOME."""
    settings = ensure_environment()
    assert settings.app_dsn is not None
    upgrade(settings.app_dsn)
    if uses_embedded_bigquery():
        ensure_emulator(settings)
    # dagster-postgres speaks psycopg2 through SQLAlchemy: name that driver explicitly
    os.environ["DAGSTER_PG_URL"] = sqlalchemy_url(os.environ["PLATFORM_DAGSTER_DSN"], driver="psycopg2")
    dagster_home = os.environ["DAGSTER_HOME"]
    os.makedirs(dagster_home, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", os.path.join(dagster_home, "dagster.yaml"))
    return settings


def uses_embedded_bigquery() -> bool:
    """Production BigQuery is configured by credentials; an explicit endpoint is someone else's emulator."""
    return not (os.environ.get("BIGQUERY_API_ENDPOINT") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"))


def stack_down() -> list[str]:
    """Stop, by pid, what the embedded stack started; returns what was stopped."""
    settings = load_settings()
    stopped = []
    if stop_emulator(settings):
        stopped.append("bigquery emulator")
    if stop_postgres(replica_dir(settings)):  # before its primary, which then shuts down without a standby
        stopped.append("postgresql replica")
    if stop_postgres(settings.pgdata):
        stopped.append("postgresql")
    return stopped
