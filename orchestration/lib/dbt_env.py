"""dbt's connection settings, derived from the platform's warehouse DSN.

dbt's ``profiles.yml`` reads discrete fields (host, user, ...) with ``env_var()``,
while the platform configures one libpq DSN. This module is the single translation
between the two, used by the Dagster assets and by the command line::

    eval "$(platform dbt-env)"
    dbt build --project-dir dbt_project --profiles-dir dbt_project
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date

from psycopg.conninfo import conninfo_to_dict

from foundation.connections import CLOCK_SETTING
from foundation.settings import now, pinned_clock

WAREHOUSE_DSN_VARIABLE = "PLATFORM_WAREHOUSE_DSN"
DEFAULT_PORT = "5432"
# session settings of every dbt connection, sent through libpq's PGOPTIONS
WINDOW_START_SETTING = "platform.window_start"
WINDOW_END_SETTING = "platform.window_end"
_OWN_OPTION = re.compile(r"-c\s*platform\.\w+=\S+")


def dbt_environment(dsn: str, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``PLATFORM_WAREHOUSE_*`` variables that ``dbt_project/profiles.yml`` reads, and ``PGOPTIONS``.

    Accepts a libpq URL or key=value string; a Unix-socket directory is a valid host.
    ``settings`` (e.g. the partition window, ``dbt_project/macros/partition_window.sql``) and the
    platform's clock when it is pinned reach every dbt connection as session settings, so they
    change nothing dbt parses.
    """
    parts = conninfo_to_dict(dsn)
    missing = [name for name in ("host", "user", "dbname") if not parts.get(name)]
    if missing:
        raise ValueError(f"{WAREHOUSE_DSN_VARIABLE} lacks {', '.join(missing)}; dbt needs host, user and dbname")
    session = dict(settings or {})
    if pinned_clock() is not None:
        # a replayed day reaches the models' {{ platform_now() }}
        session[CLOCK_SETTING] = now().isoformat()
    environment = {
        "PLATFORM_WAREHOUSE_HOST": str(parts["host"]),
        "PLATFORM_WAREHOUSE_PORT": str(parts.get("port") or DEFAULT_PORT),
        "PLATFORM_WAREHOUSE_USER": str(parts["user"]),
        "PLATFORM_WAREHOUSE_PASSWORD": str(parts.get("password") or ""),
        "PLATFORM_WAREHOUSE_DBNAME": str(parts["dbname"]),
        # dbt must never phone home from a data platform, embedded or not.
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if session:
        others = _OWN_OPTION.sub("", os.environ.get("PGOPTIONS", "")).strip()
        environment["PGOPTIONS"] = " ".join([others, *(f"-c {k}={v}" for k, v in session.items())]).strip()
    return environment


def window_settings(first_day: date, last_day: date) -> dict[str, str]:
    """The partition window [first_day, last_day] (both inclusive) as session settings."""
    return {WINDOW_START_SETTING: first_day.isoformat(), WINDOW_END_SETTING: last_day.isoformat()}
