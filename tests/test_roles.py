"""The read-only role (issue 20, "Roles"): what platform_reader can and cannot do, tried as that role."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from foundation.settings import Settings, load_settings
from orchestration.stack.postgres import OWNER_ROLE, READER_ROLE, ensure_environment


def _reader(platform: Settings, database: str = "warehouse") -> str:
    return platform.warehouse_dsn.replace(f"{OWNER_ROLE}@/warehouse", f"{READER_ROLE}@/{database}")  # type: ignore[union-attr]


def test_reader_dsn_is_the_reader_role(platform: Settings) -> None:
    with psycopg.connect(platform.replica_dsn) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (READER_ROLE, "warehouse")


@pytest.mark.parametrize("database", ["app", "dagster", "postgres", "template1"])
def test_reader_connects_to_the_warehouse_only(platform: Settings, database: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_reader(platform, database)).close()


def test_reader_has_no_grant_on_app_tables_now_or_later(platform: Settings) -> None:
    """Even with CONNECT given back, the app's tables (requests, LangGraph checkpoints) are not readable:
    nothing is granted there, and tables the owner creates later get nothing by default."""
    with psycopg.connect(platform.app_dsn, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE SCHEMA IF NOT EXISTS checkpoints_probe")
        conn.execute("CREATE TABLE IF NOT EXISTS checkpoints_probe.checkpoints (id int)")
        conn.execute("CREATE TABLE IF NOT EXISTS public.requests_probe (id int)")
        rows = conn.execute(
            "SELECT c.oid::regclass::text, has_table_privilege(%s, c.oid, 'SELECT') FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v', 'm', 'p')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')", (READER_ROLE,)).fetchall()
        usage = conn.execute("SELECT has_schema_privilege(%s, 'checkpoints_probe', 'USAGE')", (READER_ROLE,)).fetchone()
    assert rows and not [name for name, readable in rows if readable]
    assert usage == (False,)


def test_reader_switching_read_only_off_still_cannot_write(platform: Settings) -> None:
    with psycopg.connect(platform.warehouse_dsn, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE SCHEMA IF NOT EXISTS roles_probe")
        conn.execute("CREATE TABLE IF NOT EXISTS roles_probe.t (id int)")
    with psycopg.connect(_reader(platform), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # the role's default, switched off by the role
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
        assert conn.execute("SELECT count(*) FROM roles_probe.t").fetchone() == (0,)  # it can read
        for statement in ("INSERT INTO roles_probe.t VALUES (1)", "DELETE FROM roles_probe.t",
                          "CREATE TABLE roles_probe.mine (id int)", "CREATE TABLE public.mine (id int)",
                          "CREATE TEMP TABLE mine (id int)", "CREATE SCHEMA mine"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)


def test_guarded_transaction_holds_against_the_session_s_own_settings(platform: Settings) -> None:
    from foundation.connections import guarded_read

    with psycopg.connect(_reader(platform), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(errors.QueryCanceled), guarded_read(conn, "200ms"):
            conn.execute("SELECT pg_sleep(3)")
        with pytest.raises(errors.ReadOnlySqlTransaction), guarded_read(conn, "5s"):
            conn.execute("CREATE TABLE public.mine (id int)")
        with pytest.raises(errors.ActiveSqlTransaction), guarded_read(conn, "5s"):
            conn.execute("SET transaction_read_only = off")


def test_reader_statement_timeout_variable_is_applied(platform: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # as `platform up` sees it: no DSN exported yet, so the embedded server is (re)used and provisioned
    for name in ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("PLATFORM_READER_STATEMENT_TIMEOUT", "1234ms")
    try:
        ensure_environment()
        with psycopg.connect(_reader(platform)) as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("1234ms",)
    finally:
        for name in ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN", "PLATFORM_READER_STATEMENT_TIMEOUT"):
            monkeypatch.delenv(name)
        ensure_environment()
    with psycopg.connect(_reader(platform)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("5min",)


def test_replica_dsn_never_defaults_to_the_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    """With production DSNs and no replica DSN: a clear error, not the warehouse owner's DSN."""
    monkeypatch.setenv("PLATFORM_APP_DSN", "postgresql://platform_owner:pw@db-primary:5432/app")
    monkeypatch.setenv("PLATFORM_WAREHOUSE_DSN", "postgresql://platform_owner:pw@db-primary:5432/warehouse")
    monkeypatch.delenv("PLATFORM_REPLICA_DSN", raising=False)
    with pytest.raises(RuntimeError, match="PLATFORM_REPLICA_DSN is not set"):
        ensure_environment()
    assert "PLATFORM_REPLICA_DSN" not in __import__("os").environ
    monkeypatch.setenv("PLATFORM_REPLICA_DSN", "postgresql://platform_owner:pw@db-replica:5432/warehouse")
    with pytest.raises(RuntimeError, match="role of PLATFORM_WAREHOUSE_DSN"):
        ensure_environment()
    monkeypatch.setenv("PLATFORM_REPLICA_DSN", "postgresql://platform_reader:pw@db-replica:5432/warehouse")
    assert load_settings().read_dsn.startswith("postgresql://platform_reader")
