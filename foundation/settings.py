"""The one place that resolves every setting of the platform.

Production systems are configured with environment variables; when a production
variable is absent the embedded default is used instead (see ``embedded.py``).
Every variable the platform reads is listed in ``ENVIRONMENT`` so the README and
``platform env`` can print them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> what it is for; "secret" marks values that must never be logged.
ENVIRONMENT: dict[str, str] = {
    "PLATFORM_HOME": "folder for the embedded stack's state (default: <repo>/.platform)",
    "PLATFORM_APP_DSN": "application (OLTP) database; when set with PLATFORM_WAREHOUSE_DSN nothing embedded starts",
    "PLATFORM_WAREHOUSE_DSN": "warehouse database (raw, quarantine, dbt schemas, pgml)",
    "PLATFORM_REPLICA_DSN": "read replica for analytics, ML and agent reads, as a read-only role (embedded: the "
    "replica, else the reader role on the primary; required with production DSNs)",
    "PLATFORM_DAGSTER_DSN": "database for Dagster run, event-log and schedule storage",
    "PLATFORM_READER_STATEMENT_TIMEOUT": "statement timeout of the read-only role (default 300s)",
    "PLATFORM_REPLICA": "1 starts an embedded streaming replica of the embedded PostgreSQL (platform up --replica)",
    "PLATFORM_REPLICA_MAX_WAIT": "seconds a step waits for the replica to replay its run's writes (default 30)",
    "PLATFORM_REPLICA_FAILOVER": "when the replica is unreachable: primary (read there, with a warning; default) | fail",
    "PLATFORM_PARTITION_START": "first daily partition (default: the history's first day, PLATFORM_DAYS + 30 days "
    "before the platform's today)",
    "PLATFORM_TODAY": "pins the platform's clock: a day (YYYY-MM-DD) or an instant (ISO 8601); default: the real UTC clock",
    "PLATFORM_SEED": "simulator seed (default 7)",
    "PLATFORM_SCALE": "simulator scale: tiny | small | medium | full (default small)",
    "PLATFORM_DAYS": "simulated history window in days (default 90)",
    "BIGQUERY_PROJECT": "BigQuery project for exports and provisioned demos",
    "BIGQUERY_LOCATION": "BigQuery location (default US)",
    "BIGQUERY_API_ENDPOINT": "BigQuery REST endpoint; set to use an emulator with anonymous credentials",
    "GOOGLE_APPLICATION_CREDENTIALS": "service-account key file for production BigQuery / GCS (secret path)",
    "ARCHIVE_URL": "root of the Parquet archive (gs://bucket/prefix or a local folder)",
    "ANTHROPIC_API_KEY": "enables the Anthropic provider for the agents (secret)",
    "ANTHROPIC_MODEL": "Anthropic model name (default claude-sonnet-4-5)",
    "GEMINI_DATA_ANALYTICS_ENABLED": "set to 1 to register data agents with the Conversational Analytics API",
    "PLATFORM_MODEL_SIGNING_KEY": "HMAC key that signs and verifies stored ML model artifacts (secret; embedded "
    "default: generated once into <PLATFORM_HOME>/secrets/model_signing_key)",
    "PLATFORM_DATA_DOCS_URL": "where the Great Expectations Data Docs are served over http; check metadata links "
    "there (default http://127.0.0.1:3001, served by `make ui`)",
    "DAGSTER_HOME": "Dagster instance folder (set by the make targets to <PLATFORM_HOME>/dagster)",
}

SECRET_VARIABLES = frozenset({"ANTHROPIC_API_KEY", "PLATFORM_MODEL_SIGNING_KEY"})
MODEL_SIGNING_KEY_VARIABLE = "PLATFORM_MODEL_SIGNING_KEY"
DEFAULT_DATA_DOCS_URL = "http://127.0.0.1:3001"

_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]+:)([^@\s]*)(@)")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)(\S+)", re.IGNORECASE)


def mask_dsn(dsn: str) -> str:
    """A DSN with its password replaced, safe to put in logs, errors and metadata."""
    masked = _PASSWORD_IN_URL.sub(lambda m: f"{m.group(1)}***{m.group(3)}" if m.group(2) else m.group(0), dsn)
    return _PASSWORD_KV.sub(r"\1***", masked)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


# ---- the platform's one clock ------------------------------------------------------------------
# Every "what is today / now" of the platform (simulator end date, demo window, archive
# tiers, late-arrival and not-future rules, retraining age, schedules' partitions) asks
# these two functions, so a day can be pinned and replayed with PLATFORM_TODAY.

TODAY_VARIABLE = "PLATFORM_TODAY"


def pinned_clock() -> date | datetime | None:
    """What ``PLATFORM_TODAY`` pins: a day, an instant (UTC), or nothing (the real clock)."""
    value = _env(TODAY_VARIABLE)
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{TODAY_VARIABLE}={value!r} is neither a day (YYYY-MM-DD) nor an ISO 8601 instant "
                         "(YYYY-MM-DDTHH:MM:SS+00:00)") from None
    return instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC)


def now() -> datetime:
    """The platform's "now" (aware, UTC).

    With ``PLATFORM_TODAY`` set to a day, that day at the real clock's time of day (time still
    moves, so freshness and live data behave); set to an instant, exactly that instant.
    """
    real = datetime.now(UTC)
    pinned = pinned_clock()
    if pinned is None:
        return real
    if isinstance(pinned, datetime):
        return pinned
    return datetime.combine(pinned, real.timetz())


def clock_offset_days() -> int:
    """How many days the platform's today is ahead of (or, negative, behind) the real UTC day."""
    return (today() - datetime.now(UTC).date()).days


def history_window(days: int) -> tuple[date, date]:
    """The last ``days`` complete UTC days on the platform's clock: [today - days, today)."""
    end = today()
    return end - timedelta(days=days), end


def today(at: datetime | None = None) -> date:
    """The platform's "today" (a UTC day): the pinned day, else the UTC day of ``at`` (a schedule's
    tick time) or of the real clock."""
    if at is not None and pinned_clock() is None:
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return now().date()


@dataclass(frozen=True)
class Settings:
    home: Path
    app_dsn: str | None
    warehouse_dsn: str | None
    replica_dsn: str | None
    dagster_dsn: str | None
    reader_statement_timeout: str
    partition_start: str
    seed: int
    scale: str
    days: int
    bigquery_project: str
    bigquery_location: str
    bigquery_endpoint: str | None
    archive_url: str
    anthropic_model: str
    model_signing_key: str | None = field(default=None, repr=False)  # a secret: never in a repr or log
    replica: bool = False  # PLATFORM_REPLICA: start the embedded streaming replica
    replica_max_wait: float = 30.0
    replica_failover: str = "primary"
    data_docs_url: str = DEFAULT_DATA_DOCS_URL

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data_docs"

    @property
    def uses_embedded_postgres(self) -> bool:
        return not (self.app_dsn and self.warehouse_dsn)

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def read_dsn(self) -> str:
        """Where analytics, ML and agent reads go (the replica), never the warehouse owner's DSN."""
        return require_reader_dsn(self)

    def require_model_signing_key(self) -> str:
        """The key ML artifacts are signed and verified with; a clear error when none is configured."""
        if not self.model_signing_key:
            raise RuntimeError(
                f"{MODEL_SIGNING_KEY_VARIABLE} is not set: the embedded stack generates one "
                "(`platform up`, `make ui`); with production databases set it to a long random secret "
                "shared by every worker (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        return self.model_signing_key


# The demo's history: PLATFORM_DAYS plus a month beyond the 90-day hot window, so a month gets archived.
HISTORY_BEYOND_DAYS = 30


def default_partition_start(days: int) -> str:
    """The first day of the history (``days`` + a month before today): partitions start with the data."""
    return (today() - timedelta(days=days + HISTORY_BEYOND_DAYS)).isoformat()


def load_settings() -> Settings:
    home = Path(_env("PLATFORM_HOME", str(REPO_ROOT / ".platform")) or "").resolve()
    days = int(_env("PLATFORM_DAYS", "90") or 90)
    return Settings(
        home=home,
        app_dsn=_env("PLATFORM_APP_DSN"),
        warehouse_dsn=_env("PLATFORM_WAREHOUSE_DSN"),
        replica_dsn=_env("PLATFORM_REPLICA_DSN"),
        dagster_dsn=_env("PLATFORM_DAGSTER_DSN"),
        reader_statement_timeout=_env("PLATFORM_READER_STATEMENT_TIMEOUT", "300s") or "300s",
        partition_start=_env("PLATFORM_PARTITION_START") or default_partition_start(days),
        seed=int(_env("PLATFORM_SEED", "7") or 7),
        scale=_env("PLATFORM_SCALE", "small") or "small",
        days=days,
        bigquery_project=_env("BIGQUERY_PROJECT", "agent-platform-local") or "agent-platform-local",
        bigquery_location=_env("BIGQUERY_LOCATION", "US") or "US",
        bigquery_endpoint=_env("BIGQUERY_API_ENDPOINT"),
        archive_url=_env("ARCHIVE_URL", str(home / "archive")) or str(home / "archive"),
        anthropic_model=_env("ANTHROPIC_MODEL", "claude-sonnet-4-5") or "claude-sonnet-4-5",
        model_signing_key=_env(MODEL_SIGNING_KEY_VARIABLE),
        replica=_env("PLATFORM_REPLICA", "0") not in ("0", "false", "no"),
        replica_max_wait=float(_env("PLATFORM_REPLICA_MAX_WAIT", "30") or 30),
        replica_failover=_failover(_env("PLATFORM_REPLICA_FAILOVER", "primary") or "primary"),
        data_docs_url=(_env("PLATFORM_DATA_DOCS_URL") or DEFAULT_DATA_DOCS_URL).rstrip("/"),
    )


def _failover(value: str) -> str:
    if value not in ("primary", "fail"):
        raise ValueError(f"PLATFORM_REPLICA_FAILOVER={value!r}: use 'primary' (read there, with a warning) or 'fail'")
    return value


def _dsn_user(dsn: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    user = conninfo_to_dict(dsn).get("user")
    return str(user) if user else None


def require_reader_dsn(settings: Settings) -> str:
    """The replica DSN; a clear error when it is missing or names the warehouse's owner role.

    Analytics, ML and agent reads never run as the role that owns the warehouse: without a
    replica, point ``PLATFORM_REPLICA_DSN`` at the warehouse with a read-only role."""
    if not settings.replica_dsn:
        raise RuntimeError(
            "PLATFORM_REPLICA_DSN is not set: with production databases, set it to the read replica as a "
            "read-only role (postgresql://platform_reader:…@db-replica:5432/warehouse), or, without a replica, to "
            "the warehouse as that role; analytics, ML and agent reads never run as the warehouse's owner"
        )
    owner = _dsn_user(settings.warehouse_dsn) if settings.warehouse_dsn else None
    if owner and _dsn_user(settings.replica_dsn) == owner:
        raise RuntimeError(
            f"PLATFORM_REPLICA_DSN connects as {owner!r}, the role of PLATFORM_WAREHOUSE_DSN: reads must use a "
            f"read-only role (README: 'Pointing it at a real PostgreSQL'), not the warehouse's owner"
        )
    return settings.replica_dsn
