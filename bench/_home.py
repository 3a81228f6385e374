"""A benchmark's own platform home: set up before anything of the project is imported, so the
settings, Dagster and the embedded stack all resolve to a fresh temporary folder."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

# what a developer's shell may have exported for another stack
_FOREIGN = ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN", "PLATFORM_REPLICA_DSN", "PLATFORM_DAGSTER_DSN",
            "DAGSTER_HOME", "BIGQUERY_API_ENDPOINT")


def fresh_platform_home(prefix: str) -> Path:
    """Log to stderr, keep bytecode caching on (as make does: the run worker and steps reuse it), and
    point the platform at a new empty home; returns it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for name in ("dagster", "dagster_dbt", "alembic", "pgserver", "great_expectations"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    for name in _FOREIGN:
        os.environ.pop(name, None)
    os.environ.update(PLATFORM_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="true", GX_ANALYTICS_ENABLED="false")
    return home
