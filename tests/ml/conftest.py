"""Fixtures of the ML area: a warehouse connection, a client and a scratch schema."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import pytest

from foundation.settings import Settings
from ml import MODEL_CACHE, PostgresML

SCHEMA = "ml_test"


@pytest.fixture(scope="session")
def warehouse(platform: Settings) -> Iterator[psycopg.Connection]:
    assert platform.warehouse_dsn
    with psycopg.connect(platform.warehouse_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        yield conn


@pytest.fixture(scope="session")
def ml(warehouse: psycopg.Connection, platform: Settings) -> PostgresML:
    return PostgresML(warehouse, signing_key=platform.require_model_signing_key())


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    MODEL_CACHE.clear()


def load_table(conn: psycopg.Connection, name: str, columns: dict[str, np.ndarray | list], types: dict[str, str]) -> str:
    """Create ``ml_test.<name>`` with the given columns (COPY), replacing an older one."""
    qualified = f"{SCHEMA}.{name}"
    conn.execute(f"DROP TABLE IF EXISTS {qualified} CASCADE")
    conn.execute(f"CREATE TABLE {qualified} ({', '.join(f'{c} {t}' for c, t in types.items())})")
    names = list(types)
    rows = zip(*(columns[c] for c in names), strict=True)
    with conn.cursor() as cur, cur.copy(f"COPY {qualified} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([None if v is None else (v.item() if hasattr(v, "item") else v) for v in row])
    return qualified
