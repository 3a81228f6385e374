"""The embedded stack: one local PostgreSQL from the ``pgserver`` wheel.

It holds the three databases of the platform (``app``, ``warehouse``, ``dagster``)
and its two roles: ``platform_owner`` owns everything the platform writes, and
``platform_reader`` is read-only with a statement timeout (analytics, ML and agent
reads go through it, standing in for the production read replica).

Nothing here runs when production DSNs are configured (see ``settings.py``).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from foundation.settings import MODEL_SIGNING_KEY_VARIABLE, Settings, load_settings

log = logging.getLogger(__name__)

DATABASES = ("app", "warehouse", "dagster")
OWNER_ROLE = "platform_owner"
READER_ROLE = "platform_reader"

# Applied once after initdb: bulk loads and many concurrent Dagster steps.
_SERVER_SETTINGS = {
    "max_connections": "300",
    "shared_buffers": "512MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "synchronous_commit": "off",
    "timezone": "UTC",
}
# The OS socket path limit (107 bytes) bounds where the data directory can live.
_MAX_SOCKET_DIR = 90


@dataclass(frozen=True)
class EmbeddedPostgres:
    pgdata: Path
    pid: int

    def dsn(self, database: str = "postgres", role: str = "postgres") -> str:
        return f"postgresql://{role}@/{database}?host={self.pgdata}"


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid of a server running on ``pgdata``, or None."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return None
    return pid


def _private_runtime_dir() -> None:
    """pgserver keeps its lock file in XDG_RUNTIME_DIR, which must be private (0700)."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = Path(f"/tmp/runtime-{os.getuid()}")
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def start_postgres(pgdata: Path) -> EmbeddedPostgres:
    """Start (or reuse) the server on ``pgdata``; tuned and provisioned on first start."""
    _private_runtime_dir()
    import pgserver

    pgdata = pgdata.resolve()
    if len(str(pgdata)) > _MAX_SOCKET_DIR:
        raise RuntimeError(
            f"PLATFORM_HOME is too deep for a Unix socket ({len(str(pgdata))} chars): {pgdata}; "
            "choose a shorter PLATFORM_HOME"
        )
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pgdata), cleanup_mode=None)
    pid = server.get_pid()
    assert pid is not None
    embedded = EmbeddedPostgres(pgdata=pgdata, pid=pid)
    if _tune(embedded):
        stop_postgres(pgdata)
        pgserver.PostgresServer._instances.pop(pgdata, None)  # its cached state is stale now
        server = pgserver.get_server(str(pgdata), cleanup_mode=None)
        embedded = EmbeddedPostgres(pgdata=pgdata, pid=int(server.get_pid() or 0))
    provision(embedded.dsn())
    return embedded


def _tune(embedded: EmbeddedPostgres) -> bool:
    """Write the server settings; True when a restart is needed for them to apply."""
    with psycopg.connect(embedded.dsn(), autocommit=True) as conn:
        current: dict[str, str] = dict(conn.execute("SELECT name, setting FROM pg_settings").fetchall())
        if current.get("max_connections") == _SERVER_SETTINGS["max_connections"]:
            return False
        for name, value in _SERVER_SETTINGS.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    return True


def provision(superuser_dsn: str, statement_timeout: str = "300s") -> None:
    """Create the roles and databases (idempotent)."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles")}
        if OWNER_ROLE not in roles:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(OWNER_ROLE)))
        if READER_ROLE not in roles:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(READER_ROLE)))
        conn.execute(
            sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                sql.Identifier(READER_ROLE), sql.Literal(statement_timeout)
            )
        )
        conn.execute(
            sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(sql.Identifier(READER_ROLE))
        )
        existing = {d for (d,) in conn.execute("SELECT datname FROM pg_database")}
        for database in DATABASES:
            if database not in existing:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                    )
                )
    base = superuser_dsn.rsplit("/", 1)[0]
    for database in ("app", "warehouse"):
        db_dsn = superuser_dsn.replace("/postgres?", f"/{database}?") if "/postgres?" in superuser_dsn else base
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(
                    sql.Identifier(OWNER_ROLE), sql.Identifier(READER_ROLE)
                )
            )
            conn.execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT ON TABLES TO {}").format(
                    sql.Identifier(OWNER_ROLE), sql.Identifier(READER_ROLE)
                )
            )
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(READER_ROLE))
            )


def stop_postgres(pgdata: Path, timeout: float = 30.0) -> bool:
    """Fast shutdown of the server we started on ``pgdata``, by its pid."""
    pid = postmaster_pid(pgdata)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL (pid {pid}) did not stop within {timeout}s")


def environment_for(embedded: EmbeddedPostgres, settings: Settings) -> dict[str, str]:
    """The DSN variables that point the platform at the embedded server."""
    return {
        "PLATFORM_APP_DSN": embedded.dsn("app", OWNER_ROLE),
        "PLATFORM_WAREHOUSE_DSN": embedded.dsn("warehouse", OWNER_ROLE),
        "PLATFORM_REPLICA_DSN": embedded.dsn("warehouse", READER_ROLE),
        "PLATFORM_DAGSTER_DSN": embedded.dsn("dagster", OWNER_ROLE),
        "DAGSTER_HOME": str(settings.dagster_home),
    }


def embedded_model_signing_key(home: Path) -> str:
    """The embedded stack's ML signing key: generated once into ``<home>/secrets/model_signing_key``
    (folder 0700, file 0600), then read back. Never logged."""
    folder = home / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / "model_signing_key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # generated earlier (or by a parallel process): reuse it
        path.chmod(0o600)
        key = path.read_text().strip()
        if key:
            return key
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.info("generated the embedded ML model signing key in %s", folder)
    return path.read_text().strip()


def ensure_environment(settings: Settings | None = None) -> Settings:
    """Make every setting concrete: start the embedded parts that production variables do not replace.

    Exports the resulting variables into ``os.environ`` so Dagster resources (``EnvVar``),
    dbt's ``profiles.yml`` and subprocesses all read the same values.
    """
    settings = settings or load_settings()
    if settings.uses_embedded_postgres:
        embedded = start_postgres(settings.pgdata)
        for name, value in environment_for(embedded, settings).items():
            os.environ.setdefault(name, value) if name == "DAGSTER_HOME" else os.environ.__setitem__(name, value)
        if not settings.model_signing_key:
            os.environ[MODEL_SIGNING_KEY_VARIABLE] = embedded_model_signing_key(settings.home)
    else:
        os.environ.setdefault("PLATFORM_REPLICA_DSN", settings.warehouse_dsn or "")
        os.environ.setdefault("PLATFORM_DAGSTER_DSN", settings.warehouse_dsn or "")
        os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    os.environ.setdefault("ARCHIVE_URL", settings.archive_url)
    return load_settings()
