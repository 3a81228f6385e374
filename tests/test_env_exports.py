"""`platform env` and `platform dbt-env` as a shell uses them: `eval "$(platform env)"` in a real bash.

Hostile values (quotes, `$(…)`, backticks, `;`) must come back byte for byte and run nothing;
the DSNs' passwords are printed only with `--with-secrets`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from foundation.settings import REPO_ROOT, Settings
from orchestration.stack.postgres import OWNER_ROLE, READER_ROLE

PASSWORD_MARK = "s3cr"  # every password below contains it; the keys contain KEY_MARK
KEY_MARK = "k3y-never-printed"


def _hostile(marker: Path) -> str:
    """A value that runs `touch marker` if a shell evaluates it instead of taking it literally."""
    return (f"'$(touch {marker})' `touch {marker}` \"$(touch {marker})\" ;touch {marker} # \\ "
            f"${{IFS}}$(touch${{IFS}}{marker})")


def _dsn(platform: Settings, database: str, role: str, password: str) -> str:
    return make_conninfo(host=str(platform.pgdata), dbname=database, user=role, password=password)


def _platform(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _eval_in_bash(exports: str) -> dict[str, str]:
    """What a clean bash holds after `eval "<exports>"`."""
    script = 'eval "$1" || exit 97; exec "$2" -c "import json, os; print(json.dumps(dict(os.environ)))"'
    done = subprocess.run(["bash", "-c", script, "bash", exports, sys.executable],
                          env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def production_like(platform: Settings, scratch_database, tmp_path: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Production variables (passwords, hostile values) pointing at the embedded server (trust auth on its socket)."""
    scratch_database("env_app")
    marker = tmp_path / "pwned"
    dsns = {
        "PLATFORM_APP_DSN": _dsn(platform, "env_app", OWNER_ROLE, f"{PASSWORD_MARK}-app{_hostile(marker)}"),
        "PLATFORM_WAREHOUSE_DSN": _dsn(platform, "warehouse", OWNER_ROLE, f"{PASSWORD_MARK}-wh{_hostile(marker)}"),
        "PLATFORM_REPLICA_DSN": _dsn(platform, "warehouse", READER_ROLE, f"{PASSWORD_MARK}-rd"),
        "PLATFORM_DAGSTER_DSN": _dsn(platform, "dagster", OWNER_ROLE, f"{PASSWORD_MARK}-dg"),
    }
    archive_url = f"{tmp_path}/archive{_hostile(marker)}"
    env = {**os.environ, **dsns, "ARCHIVE_URL": archive_url, "DAGSTER_HOME": str(tmp_path / "dagster"),
           "BIGQUERY_API_ENDPOINT": "http://127.0.0.1:9",  # someone else's emulator: nothing is started
           "ANTHROPIC_API_KEY": f"sk-{KEY_MARK}", "PLATFORM_MODEL_SIGNING_KEY": KEY_MARK}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return {"env": env, "dsns": dsns, "archive_url": archive_url, "marker": marker}


def test_platform_env_prints_no_password_and_evals_without_running_anything(production_like: dict) -> None:  # type: ignore[type-arg]
    env, dsns, marker = production_like["env"], production_like["dsns"], production_like["marker"]

    done = _platform(["env"], env)
    exported = _eval_in_bash(done.stdout)

    assert not marker.exists(), "evaluating `platform env` ran a command"
    assert PASSWORD_MARK not in done.stdout + done.stderr and KEY_MARK not in done.stdout + done.stderr
    assert exported["ARCHIVE_URL"] == production_like["archive_url"]
    for name, dsn in dsns.items():
        without = {k: v for k, v in conninfo_to_dict(dsn).items() if k != "password"}
        assert conninfo_to_dict(exported[name]) == without
    # `dg` / `dagster` commands in the same shell find the instance's storage, without its password
    assert "+psycopg2://" in exported["DAGSTER_PG_URL"] and PASSWORD_MARK not in exported["DAGSTER_PG_URL"]
    assert "--with-secrets" in done.stderr and ".pgpass" in done.stderr  # says what to do for a TCP host
    # without its password the DSN still reaches a Unix-socket host with trust authentication
    with psycopg.connect(exported["PLATFORM_WAREHOUSE_DSN"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (OWNER_ROLE,)


def test_platform_env_with_secrets_gives_back_the_exact_dsns(production_like: dict) -> None:  # type: ignore[type-arg]
    env, dsns, marker = production_like["env"], production_like["dsns"], production_like["marker"]

    exported = _eval_in_bash(_platform(["env", "--with-secrets"], env).stdout)

    assert not marker.exists(), "evaluating `platform env --with-secrets` ran a command"
    assert {name: exported[name] for name in dsns} == dsns
    assert f"{PASSWORD_MARK}-dg" in exported["DAGSTER_PG_URL"]
    assert exported["ARCHIVE_URL"] == production_like["archive_url"]
    assert "ANTHROPIC_API_KEY" not in exported and "PLATFORM_MODEL_SIGNING_KEY" not in exported


def test_dbt_env_exports_the_password_only_with_secrets(production_like: dict) -> None:  # type: ignore[type-arg]
    env, dsns, marker = production_like["env"], production_like["dsns"], production_like["marker"]
    warehouse = conninfo_to_dict(dsns["PLATFORM_WAREHOUSE_DSN"])

    done = _platform(["dbt-env"], env)
    plain = _eval_in_bash(done.stdout)
    secret = _eval_in_bash(_platform(["dbt-env", "--with-secrets"], env).stdout)

    assert PASSWORD_MARK not in done.stdout + done.stderr
    assert "PLATFORM_WAREHOUSE_PASSWORD" not in plain
    assert (plain["PLATFORM_WAREHOUSE_HOST"], plain["PLATFORM_WAREHOUSE_USER"], plain["PLATFORM_WAREHOUSE_DBNAME"]) == (
        warehouse["host"], warehouse["user"], warehouse["dbname"])
    assert secret["PLATFORM_WAREHOUSE_PASSWORD"] == warehouse["password"]
    assert secret["PLATFORM_WAREHOUSE_DSN"] == dsns["PLATFORM_WAREHOUSE_DSN"]
    assert not marker.exists()
