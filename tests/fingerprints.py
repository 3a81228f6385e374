"""Fingerprints of a day of a partitioned table: in the source, and in raw plus quarantine.

A fingerprint is the row count and the sum of a 64-bit hash of every row's source columns, both
sides rendered as text in UTC, so "raw + quarantine equals the source" is one comparison per
table and day: a missing, extra, doubled or changed row changes it.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from foundation.catalog import SourceTable

Fingerprint = tuple[int, int]
_CHECKSUM = "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM ({}) AS t"


def _columns(table: SourceTable) -> str:
    return ", ".join(f'"{c}"' for c in table.columns)


def source_fingerprint(app_dsn: str, table: SourceTable, day: date) -> Fingerprint:
    assert table.partition_column, f"{table.name} is not partitioned"
    inner = (f"SELECT {_columns(table)} FROM public.{table.name} WHERE \"{table.partition_column}\" >= "  # noqa: S608
             f"'{day}T00:00:00+00' AND \"{table.partition_column}\" < '{day + timedelta(days=1)}T00:00:00+00'")
    with psycopg.connect(app_dsn, options="-c TimeZone=UTC") as conn:
        row = conn.execute(_CHECKSUM.format(inner)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _loaded(conn: psycopg.Connection, table: SourceTable, day: date) -> str:
    inner = f"SELECT {_columns(table)} FROM raw.{table.name} WHERE _partition_date = '{day}'"  # noqa: S608
    if conn.execute("SELECT to_regclass(%s)", (f"quarantine.{table.name}",)).fetchone()[0]:  # type: ignore[index]
        inner += f" UNION ALL SELECT {_columns(table)} FROM quarantine.{table.name} WHERE _partition_date = '{day}'"
    return inner


def loaded_fingerprint(warehouse_dsn: str, table: SourceTable, day: date) -> Fingerprint:
    """Raw plus quarantine (the quality layer moves bad rows there): together they are the source."""
    with psycopg.connect(warehouse_dsn, options="-c TimeZone=UTC") as conn:
        row = conn.execute(_CHECKSUM.format(_loaded(conn, table, day))).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def duplicated_keys(warehouse_dsn: str, table: SourceTable, day: date) -> int:
    """Rows of the day whose primary key another row of raw or quarantine also has."""
    with psycopg.connect(warehouse_dsn) as conn:
        row = conn.execute(f"SELECT count(*) - count(DISTINCT {table.primary_key}) FROM ({_loaded(conn, table, day)}) "  # noqa: S608
                           "AS t").fetchone()
    assert row is not None
    return int(row[0])
