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

from psycopg.conninfo import conninfo_to_dict

from foundation.connections import CLOCK_SETTING, clock_option
from foundation.settings import now, pinned_clock

WAREHOUSE_DSN_VARIABLE = "PLATFORM_WAREHOUSE_DSN"
DEFAULT_PORT = "5432"
_CLOCK_OPTION = re.compile(rf"-c\s*{re.escape(CLOCK_SETTING)}=\S+")


def dbt_environment(dsn: str) -> dict[str, str]:
    """The ``PLATFORM_WAREHOUSE_*`` variables that ``dbt_project/profiles.yml`` reads.

    Accepts a libpq URL or key=value string; a Unix-socket directory is a valid host.
    """
    parts = conninfo_to_dict(dsn)
    missing = [name for name in ("host", "user", "dbname") if not parts.get(name)]
    if missing:
        raise ValueError(f"{WAREHOUSE_DSN_VARIABLE} lacks {', '.join(missing)}; dbt needs host, user and dbname")
    clock = {}
    if pinned_clock() is not None:
        # a replayed day reaches the models' {{ platform_now() }} as a session setting
        others = _CLOCK_OPTION.sub("", os.environ.get("PGOPTIONS", "")).strip()
        clock["PGOPTIONS"] = " ".join(filter(None, (others, clock_option(now()))))
    return {
        **clock,
        "PLATFORM_WAREHOUSE_HOST": str(parts["host"]),
        "PLATFORM_WAREHOUSE_PORT": str(parts.get("port") or DEFAULT_PORT),
        "PLATFORM_WAREHOUSE_USER": str(parts["user"]),
        "PLATFORM_WAREHOUSE_PASSWORD": str(parts.get("password") or ""),
        "PLATFORM_WAREHOUSE_DBNAME": str(parts["dbname"]),
        # dbt must never phone home from a data platform, embedded or not.
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def apply_dbt_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Export the dbt variables derived from ``PLATFORM_WAREHOUSE_DSN`` into ``os.environ``."""
    source = os.environ if environ is None else environ
    dsn = source.get(WAREHOUSE_DSN_VARIABLE)
    if not dsn:
        raise RuntimeError(
            f"{WAREHOUSE_DSN_VARIABLE} is not set: start the embedded stack "
            "(orchestration.stack.postgres.ensure_environment) or configure the production warehouse"
        )
    variables = dbt_environment(dsn)
    os.environ.update(variables)
    return variables

