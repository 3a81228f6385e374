"""The Dagster instance's PostgreSQL storage, with one connection kept open per process.

``DagsterPostgresStorage`` opens a new connection for every statement (``NullPool``): one day of
the daily pipeline opened 10,126 connections to the ``dagster`` database (cProfile), each
costing 2.9 ms against 0.2 ms for a pooled one (measured on the embedded PostgreSQL). These are
the same storages with a small pool per process: one connection held, up to ten more while
threads (the daemon's sensors, the webserver) need them, each pinged before reuse so a
restarted database is no error, all closed when the instance is disposed; each names its
process in ``pg_stat_activity.application_name`` (``dagster <program> <pid>``). The webserver still
swaps in its own engine (``optimize_for_webserver``).

``dagster.yaml``::

    storage:
      custom:
        module: orchestration.lib.instance_storage
        class: PooledPostgresStorage
        config:
          postgres_url: {env: DAGSTER_PG_URL}
"""

from __future__ import annotations

import os
import sys
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

POOL_SIZE = 1  # connections a process keeps open
MAX_OVERFLOW = 10  # more while threads need them, closed when returned
POOL_RECYCLE_SECONDS = 3600


def application_name() -> str:
    """What ``pg_stat_activity`` shows for this process's connections: which program, which pid."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"dagster {program} {os.getpid()}"[:63]


class _Pooled:
    """Mixin for a dagster-postgres storage: made as the storage makes itself, then its engine
    (``_engine``) replaced by a pooled one, which is disposed with the storage."""

    _engine: Any
    postgres_url: str

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, token_provider: Any = None) -> None:
        super().__init__(postgres_url, should_autocreate_tables, token_provider=token_provider)  # type: ignore[call-arg]
        unpooled = self._engine
        self._engine = create_pg_engine(self.postgres_url, token_provider, isolation_level="AUTOCOMMIT",
                                        pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW,
                                        pool_recycle=POOL_RECYCLE_SECONDS, pool_pre_ping=True,
                                        connect_args={"application_name": application_name()})
        unpooled.dispose()

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        self._engine.dispose()


class PooledRunStorage(_Pooled, PostgresRunStorage):
    """Runs."""


class PooledEventLogStorage(_Pooled, PostgresEventLogStorage):
    """The event log, which remembers the tables it has found.

    dagster-postgres asks whether a table exists on every check result (``asset_check_executions``)
    and every materialization (``asset_event_tags``): 1,099 catalogue queries in one day of the daily
    pipeline, each on a connection of its own, and for a materialization a *new* one (asked inside the
    transaction that holds the kept connection). Migrations add tables and nothing drops one while a
    process runs, so a table found stays found; one not found is asked again."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, token_provider: Any = None) -> None:
        self._tables_found: set[str] = set()
        super().__init__(postgres_url, should_autocreate_tables, token_provider=token_provider)

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found


class PooledScheduleStorage(_Pooled, PostgresScheduleStorage):
    """Schedule and sensor state."""


class PooledPostgresStorage(DagsterPostgresStorage):
    """``DagsterPostgresStorage`` (runs, event log, schedules) on pooled engines."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data: ConfigurableClassData | None = None, token_provider: Any = None) -> None:
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = PooledRunStorage(postgres_url, should_autocreate_tables, token_provider)
        self._event_log_storage = PooledEventLogStorage(postgres_url, should_autocreate_tables, token_provider)
        self._schedule_storage = PooledScheduleStorage(postgres_url, should_autocreate_tables, token_provider)
        super(DagsterPostgresStorage, self).__init__()  # DagsterStorage's, not the unpooled storages again

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: Any) -> PooledPostgresStorage:
        return cls(postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   inst_data=inst_data, token_provider=get_token_provider_from_config(config_value))
