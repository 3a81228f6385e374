"""The embedded stack: one local PostgreSQL from the ``pgserver`` wheel, and optionally its replica.

It holds the three databases of the platform (``app``, ``warehouse``, ``dagster``)
and its two roles: ``platform_owner`` owns everything the platform writes, and
``platform_reader`` reads the warehouse only (analytics, ML and agent reads go through it).
The reader is read-only and bounded three ways: its role settings (read-only default,
``PLATFORM_READER_STATEMENT_TIMEOUT``), its privileges (``SELECT`` on the warehouse's schemas;
no ``CONNECT`` to ``app``, ``dagster`` or ``postgres``, no ``TEMP``, nothing granted in ``app``),
and, where the platform reads, a guarded transaction (``foundation.connections.guarded_read``).
A role can ``SET`` its own defaults away; its privileges it cannot.

With ``PLATFORM_REPLICA=1`` (``platform up --replica``) a second server streams the first's WAL
(``pg_basebackup -R`` from the same binaries) from its own folder and port, and
``PLATFORM_REPLICA_DSN`` points the reader at it.

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

from foundation.settings import MODEL_SIGNING_KEY_VARIABLE, Settings, load_settings, require_reader_dsn

log = logging.getLogger(__name__)

DATABASES = ("app", "warehouse", "dagster")
OWNER_ROLE = "platform_owner"
READER_ROLE = "platform_reader"
READER_DATABASE = "warehouse"  # the only database the reader may connect to
REPLICA_PORT = 5433  # its own port (and socket folder): the primary keeps libpq's default 5432

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


def start_postgres(pgdata: Path, reader_statement_timeout: str = "300s") -> EmbeddedPostgres:
    """Start (or reuse) the server on ``pgdata``; tuned on first start, provisioned on every start."""
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
    provision(embedded.dsn(), reader_statement_timeout)
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
    """Create the roles and databases, and bound the reader (idempotent: runs on every start)."""
    reader, owner = sql.Identifier(READER_ROLE), sql.Identifier(OWNER_ROLE)
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles")}
        if OWNER_ROLE not in roles:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(owner))
        if READER_ROLE not in roles:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(reader))
        conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION").format(reader))
        conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(reader, sql.Literal(statement_timeout)))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(reader))
        existing = {d for (d,) in conn.execute("SELECT datname FROM pg_database")}
        for database in DATABASES:
            if database not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), owner))
        # CONNECT is PUBLIC's by default: only the owners (and the reader, on the warehouse) keep it
        for database in (*DATABASES, "postgres", "template1"):
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(READER_DATABASE), reader))
    for database in ("app", "warehouse"):
        with psycopg.connect(_database_dsn(superuser_dsn, database), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            if database == READER_DATABASE:
                grant_warehouse_reads(conn)
            else:
                _revoke_reads(conn)


def _database_dsn(superuser_dsn: str, database: str) -> str:
    return superuser_dsn.replace("/postgres?", f"/{database}?")


def grant_warehouse_reads(conn: psycopg.Connection) -> None:
    """The reader reads every schema the owner creates in the warehouse (raw, marts, ml, the pgml catalog the
    retraining sensor reads, ...): the warehouse is what analytics needs."""
    reader, owner = sql.Identifier(READER_ROLE), sql.Identifier(OWNER_ROLE)
    conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(owner, reader))
    conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT ON TABLES TO {}").format(owner, reader))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(reader))


def _revoke_reads(conn: psycopg.Connection) -> None:
    """No read of the app database (requests, checkpoints, usage): no grants, now or by default."""
    reader, owner = sql.Identifier(READER_ROLE), sql.Identifier(OWNER_ROLE)
    conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE USAGE ON SCHEMAS FROM {}").format(owner, reader))
    conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE SELECT ON TABLES FROM {}").format(owner, reader))
    schemas = [s for (s,) in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'")]
    for schema in schemas:
        conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(sql.Identifier(schema), reader))
        conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(sql.Identifier(schema), reader))


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


# ---- the embedded streaming replica ------------------------------------------------------------

@dataclass(frozen=True)
class EmbeddedReplica:
    datadir: Path
    port: int
    pid: int

    def dsn(self, database: str = READER_DATABASE, role: str = READER_ROLE) -> str:
        return f"postgresql://{role}@/{database}?host={self.datadir}&port={self.port}"


def replica_dir(settings: Settings) -> Path:
    return settings.home / "replica"


def _run_as_server_user(args: list[str], log_file: Path | None = None) -> None:
    """Run one of the wheel's PostgreSQL programs as the user pgserver runs the server as (as root:
    ``pgserver``; PostgreSQL refuses to run as root)."""
    import subprocess

    from foundation.connections import pg_bin_dir

    user = "pgserver" if os.geteuid() == 0 else None
    result = subprocess.run([str(pg_bin_dir() / args[0]), *args[1:]], user=user, capture_output=True, text=True,
                            timeout=300, check=False)
    if result.returncode != 0:
        tail = log_file.read_text()[-2000:] if log_file and log_file.exists() else ""
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                           + (f"\n{log_file}:\n{tail}" if tail else ""))


def _system_identifier(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()
    assert row is not None
    return int(row[0])


def _base_backup(primary: EmbeddedPostgres, datadir: Path) -> None:
    """A copy of the primary that starts as its streaming standby (``-R``: standby.signal + primary_conninfo)."""
    import shutil

    shutil.rmtree(datadir, ignore_errors=True)
    datadir.mkdir(mode=0o700, parents=True)
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam("pgserver")
        os.chown(datadir, entry.pw_uid, entry.pw_gid)
    log.info("pg_basebackup of %s into %s", primary.pgdata, datadir)
    _run_as_server_user(["pg_basebackup", "-D", str(datadir), "-R", "-X", "stream", "-c", "fast",
                         "-d", f"host={primary.pgdata} user=postgres application_name=platform_replica"])


def start_replica(primary: EmbeddedPostgres, datadir: Path, port: int = REPLICA_PORT) -> EmbeddedReplica:
    """Start (or reuse) the streaming replica of ``primary`` in ``datadir``; a copy of another primary
    (the primary's folder was recreated) is replaced by a fresh base backup."""
    datadir = datadir.resolve()
    if len(str(datadir)) > _MAX_SOCKET_DIR:
        raise RuntimeError(f"PLATFORM_HOME is too deep for the replica's Unix socket: {datadir}")
    for _attempt in (1, 2):
        if not (datadir / "PG_VERSION").exists():
            _base_backup(primary, datadir)
        pid = postmaster_pid(datadir)
        if pid is None:
            log_file = datadir / "log"
            # hot_standby_feedback: long ML reads are not cancelled by the primary's vacuum of rows they see
            _run_as_server_user(["pg_ctl", "-D", str(datadir), "-w", "-t", "120", "-l", str(log_file),
                                 "-o", '-h ""', "-o", f"-k {datadir}", "-o", f"-p {port}",
                                 "-o", "-c hot_standby_feedback=on", "start"], log_file)
            pid = postmaster_pid(datadir)
        replica = EmbeddedReplica(datadir=datadir, port=port, pid=int(pid or 0))
        if _system_identifier(replica.dsn("postgres", "postgres")) == _system_identifier(primary.dsn()):
            return replica
        log.warning("replica in %s is a copy of another server: taking a new base backup", datadir)
        stop_postgres(datadir)
        (datadir / "PG_VERSION").unlink()
    raise RuntimeError(f"could not start a replica of {primary.pgdata} in {datadir}")


def environment_for(embedded: EmbeddedPostgres, settings: Settings,
                    replica: EmbeddedReplica | None = None) -> dict[str, str]:
    """The DSN variables that point the platform at the embedded server (reads: at its replica, if any)."""
    return {
        "PLATFORM_APP_DSN": embedded.dsn("app", OWNER_ROLE),
        "PLATFORM_WAREHOUSE_DSN": embedded.dsn("warehouse", OWNER_ROLE),
        "PLATFORM_REPLICA_DSN": replica.dsn() if replica else embedded.dsn(READER_DATABASE, READER_ROLE),
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
        embedded = start_postgres(settings.pgdata, settings.reader_statement_timeout)
        # a replica started earlier (`platform up --replica`) serves the reads until `platform down`
        replica = None
        if settings.replica or postmaster_pid(replica_dir(settings)) is not None:
            replica = start_replica(embedded, replica_dir(settings))
        for name, value in environment_for(embedded, settings, replica).items():
            os.environ.setdefault(name, value) if name == "DAGSTER_HOME" else os.environ.__setitem__(name, value)
        if not settings.model_signing_key:
            os.environ[MODEL_SIGNING_KEY_VARIABLE] = embedded_model_signing_key(settings.home)
    else:
        # never the warehouse owner's DSN: a clear error instead (foundation.settings.require_reader_dsn)
        require_reader_dsn(settings)
        os.environ.setdefault("PLATFORM_DAGSTER_DSN", settings.warehouse_dsn or "")
        os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    os.environ.setdefault("ARCHIVE_URL", settings.archive_url)
    return load_settings()
