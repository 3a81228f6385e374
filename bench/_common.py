"""Shared by the benchmarks: a private embedded PostgreSQL, peak memory, the JSON last line."""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.db.migrate import upgrade
from orchestration.stack.postgres import OWNER_ROLE, EmbeddedPostgres, start_postgres, stop_postgres


@contextmanager
def private_postgres(prefix: str = "bench-") -> Iterator[tuple[EmbeddedPostgres, str, str]]:
    """A throw-away server: (server, app DSN, warehouse DSN); stopped by pid at the end."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(home, 0o755)
    server = start_postgres(home / "pgdata")
    try:
        app, warehouse = server.dsn("app", OWNER_ROLE), server.dsn("warehouse", OWNER_ROLE)
        upgrade(app)
        yield server, app, warehouse
    finally:
        stop_postgres(server.pgdata)
        shutil.rmtree(home, ignore_errors=True)


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its waited-for children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def emit(result: dict[str, object]) -> None:
    """The benchmark's last line: one JSON object."""
    print(json.dumps(result, sort_keys=True))
