"""Connecting to PostgreSQL with retries, and handing DSNs to command-line clients safely."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from foundation.settings import mask_dsn
from foundation.settings import now as platform_now

log = logging.getLogger(__name__)

# Every session of the platform renders values the same way (checksums compare text).
SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=1"


# The platform's clock inside PostgreSQL: SQL that asks for "now" reads this session setting,
# set from ``settings.now()`` by ``pin_clock``, so a pinned PLATFORM_TODAY reaches the rules too.
# Unset (a missing pin) is an error, not a silent fall-back to the server's clock.
CLOCK_SETTING = "platform.now"
CLOCK_SQL = f"current_setting('{CLOCK_SETTING}')::timestamptz"
# For views a person may also read from psql: the server's clock when no session pinned one.
CLOCK_OR_SERVER_SQL = f"coalesce(nullif(current_setting('{CLOCK_SETTING}', true), '')::timestamptz, now())"


def pin_clock(conn: psycopg.Connection, now: datetime | None = None) -> datetime:
    """Give the session the platform's "now"; returns it."""
    now = now or platform_now()
    conn.execute("SELECT set_config(%s, %s, false)", (CLOCK_SETTING, now.isoformat()))
    return now


def clock_option(now: datetime) -> str:
    """The same as a libpq ``options`` entry, for connections that others open (Great Expectations)."""
    return f"-c {CLOCK_SETTING}={now.isoformat()}"


def pg_bin_dir() -> Path:
    """PostgreSQL's client and server programs (psql, pg_ctl, ...), shipped in the pgserver wheel."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


class DatabaseUnreachableError(RuntimeError):
    """Raised after the retries, naming the database by its masked DSN."""


def connect(dsn: str, *, attempts: int = 4, base_delay: float = 0.5, autocommit: bool = False,
            **kwargs: object) -> psycopg.Connection:
    """Connect with exponential backoff; the final error names the DSN with its password masked."""
    last: Exception | None = None
    # the DSN's own session settings (e.g. the ML read session's) come after the platform's, so they win
    options = f"{SESSION_OPTIONS} {conninfo_to_dict(dsn).get('options') or ''}".strip()
    for attempt in range(1, attempts + 1):
        try:
            return psycopg.connect(dsn, autocommit=autocommit, options=options, **kwargs)  # type: ignore[arg-type]
        except psycopg.OperationalError as error:
            last = error
            if attempt < attempts:
                delay = base_delay * 2 ** (attempt - 1)
                log.warning("cannot reach %s (attempt %d/%d), retrying in %.1fs", mask_dsn(dsn), attempt,
                            attempts, delay)
                time.sleep(delay)
    raise DatabaseUnreachableError(
        f"cannot reach database {mask_dsn(dsn)} after {attempts} attempts: {str(last).strip()}"
    ) from last


def with_session_settings(dsn: str, settings: Mapping[str, str]) -> str:
    """``dsn`` whose sessions start with ``settings`` (libpq ``options``, ``-c name=value``), so every client
    that opens it (psycopg, ADBC, SQLAlchemy) gets them without running a statement."""
    if not settings:
        return dsn
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    extra = " ".join(f"-c {name}={value}" for name, value in settings.items())
    params["options"] = f"{params.get('options', '')} {extra}".strip()
    return make_conninfo(**params)


@contextmanager
def guarded_read(conn: psycopg.Connection, statement_timeout: str) -> Iterator[psycopg.Connection]:
    """A read-only transaction bounded by its own statement timeout.

    ``SET TRANSACTION READ ONLY`` and ``SET LOCAL statement_timeout`` in the same transaction hold
    whatever the session switched before (a role's defaults can be ``SET`` away by the role itself)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (statement_timeout,))
        yield conn


def sqlalchemy_url(dsn: str, driver: str = "psycopg") -> str:
    """A ``postgresql+<driver>://`` SQLAlchemy URL for a libpq DSN (URL or key=value), socket hosts included."""
    from sqlalchemy.engine import URL

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    host = params.pop("host", None)
    port = params.pop("port", None)
    url = URL.create(
        f"postgresql+{driver}",
        username=params.pop("user", None),
        password=params.pop("password", None),
        database=params.pop("dbname", None),
        # a socket directory is not a hostname: it goes in the query, as libpq's host=
        host=None if host is None or host.startswith("/") else host,
        port=int(port) if port and host and not host.startswith("/") else None,
        query={**params, **({"host": host} if host and host.startswith("/") else {}),
               **({"port": port} if port and host and host.startswith("/") else {})},
    )
    return url.render_as_string(hide_password=False)


def dsn_without_password(dsn: str) -> str:
    """The DSN without its password (unchanged when it has none), for output a person or a shell sees.

    libpq then takes the password from ``PGPASSWORD`` or the password file (``~/.pgpass``,
    ``PGPASSFILE``); a Unix-socket host with trust authentication needs none.
    """
    params = conninfo_to_dict(dsn)
    if "password" not in params:
        return dsn
    del params["password"]
    return make_conninfo(**{k: str(v) for k, v in params.items()})


def client_environment(dsn: str) -> tuple[str, Mapping[str, str]]:
    """A conninfo without the password for a client's command line, and the env carrying the password."""
    params = conninfo_to_dict(dsn)
    password = params.pop("password", None)
    env = dict(os.environ)
    env["PGOPTIONS"] = SESSION_OPTIONS
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env
