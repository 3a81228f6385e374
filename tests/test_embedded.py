import psycopg
import pytest

from foundation.settings import Settings, mask_dsn
from orchestration.stack.postgres import ensure_environment, postmaster_pid


def test_databases_and_roles(platform: Settings) -> None:
    assert platform.app_dsn and platform.warehouse_dsn and platform.replica_dsn
    with psycopg.connect(platform.app_dsn) as conn:
        assert conn.execute("select current_user").fetchone() == ("platform_owner",)
        dbs = {d for (d,) in conn.execute("select datname from pg_database")}
    assert {"app", "warehouse", "dagster"} <= dbs


def test_reader_role_is_read_only_with_timeout(platform: Settings) -> None:
    assert platform.replica_dsn
    with psycopg.connect(platform.replica_dsn) as conn:
        timeout = conn.execute("show statement_timeout").fetchone()
        assert timeout is not None and timeout[0] != "0"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("create table public.should_fail (id int)")


def test_second_start_reuses_running_server(platform: Settings) -> None:
    pid = postmaster_pid(platform.pgdata)
    again = ensure_environment()
    assert postmaster_pid(again.pgdata) == pid


def test_mask_dsn_hides_passwords() -> None:
    assert mask_dsn("postgresql://owner:s3cret@db.example:5432/app") == "postgresql://owner:***@db.example:5432/app"
    assert "s3cret" not in mask_dsn("host=db user=owner password=s3cret dbname=app")
    assert mask_dsn("postgresql://owner@/app?host=/tmp/x") == "postgresql://owner@/app?host=/tmp/x"
