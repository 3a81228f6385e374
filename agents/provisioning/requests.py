"""The ``provisioning_requests`` table: insert, read, claim and write back outcomes.

Status moves ``pending`` → ``queued`` (the sensor launched a run) → ``running`` →
``succeeded`` | ``failed`` | ``cancelled``. ``cancel_requested`` is set by a person (or
``request_cancel``) and honoured by the graph between nodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

MANUAL_FIELDS = ("business_name", "domain", "products", "description")


@dataclass(frozen=True)
class ProvisioningRequest:
    id: int
    customer_url: str
    requested_by: str
    manual_input: dict[str, Any] | None
    status: str
    cancel_requested: bool
    created_at: datetime | None = None
    dagster_run_id: str | None = None


def manual_input_from(
    business_name: str | None = None,
    domain: str | None = None,
    products: list[str] | None = None,
    description: str | None = None,
) -> dict[str, Any] | None:
    """The ``manual_input`` JSON, or None when nothing was given."""
    values = {"business_name": business_name, "domain": domain, "products": products, "description": description}
    cleaned = {k: v for k, v in values.items() if v}
    return cleaned or None


def insert_request(
    dsn: str,
    customer_url: str,
    requested_by: str,
    manual_input: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """A new pending request; ``now`` (the platform's clock) stamps ``created_at``, which the
    sensor's deadline, duplicate window and quota are measured from (default: the database's clock)."""
    unknown = set(manual_input or {}) - set(MANUAL_FIELDS)
    if unknown:
        raise ValueError(f"unknown manual_input fields {sorted(unknown)}; allowed: {', '.join(MANUAL_FIELDS)}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO provisioning_requests (customer_url, requested_by, manual_input, created_at) "
            "VALUES (%s, %s, %s, COALESCE(%s, now())) RETURNING id",
            (customer_url, requested_by, Jsonb(manual_input) if manual_input else None, now),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _from_row(row: dict[str, Any]) -> ProvisioningRequest:
    return ProvisioningRequest(
        id=int(row["id"]),
        customer_url=row["customer_url"],
        requested_by=row["requested_by"],
        manual_input=row["manual_input"],
        status=row["status"],
        cancel_requested=bool(row["cancel_requested"]),
        created_at=row["created_at"],
        dagster_run_id=row["dagster_run_id"],
    )


_COLUMNS = "id, customer_url, requested_by, manual_input, status, cancel_requested, created_at, dagster_run_id"


def get_request(dsn: str, request_id: int) -> ProvisioningRequest:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM provisioning_requests WHERE id = %s", (request_id,)).fetchone()  # noqa: S608
    if row is None:
        raise LookupError(f"provisioning request {request_id} does not exist")
    return _from_row(row)


def pending_requests(dsn: str, after_id: int, limit: int) -> list[ProvisioningRequest]:
    """Pending requests, oldest first: those below ``after_id`` (committed late) then newer ones.

    The partial index on pending ids keeps this cheap however long the table grows.
    """
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM provisioning_requests WHERE status = 'pending' "  # noqa: S608
            "ORDER BY id > %s, id LIMIT %s",
            (after_id, limit),
        ).fetchall()
    return [_from_row(r) for r in rows]


def mark_queued(dsn: str, request_ids: list[int]) -> int:
    if not request_ids:
        return 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(
            "UPDATE provisioning_requests SET status = 'queued', updated_at = now() "
            "WHERE id = ANY(%s) AND status = 'pending'",
            (request_ids,),
        )
        return cursor.rowcount


def mark_running(dsn: str, request_id: int, run_id: str | None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE provisioning_requests SET status = 'running', dagster_run_id = COALESCE(%s, dagster_run_id), "
            "started_at = COALESCE(started_at, now()), finished_at = NULL, error = NULL, updated_at = now() "
            "WHERE id = %s",
            (run_id, request_id),
        )


def mark_finished(
    dsn: str, request_id: int, status: str, *, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    if status not in ("succeeded", "failed", "cancelled"):
        raise ValueError(f"not a final status: {status}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE provisioning_requests SET status = %s, result = %s, error = %s, finished_at = now(), "
            "updated_at = now() WHERE id = %s",
            (status, Jsonb(json.loads(json.dumps(result, default=str))) if result is not None else None,
             error, request_id),
        )


def request_cancel(dsn: str, request_id: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE provisioning_requests SET cancel_requested = true, updated_at = now() WHERE id = %s",
            (request_id,),
        )


def cancel_requested(dsn: str, request_id: int) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT cancel_requested FROM provisioning_requests WHERE id = %s", (request_id,)).fetchone()
    return bool(row and row[0])


def request_result(dsn: str, request_id: int) -> dict[str, Any]:
    """Status, error and result JSON of a request (what the CLI prints)."""
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT id, status, error, result, dagster_run_id, started_at, finished_at FROM provisioning_requests "
            "WHERE id = %s",
            (request_id,),
        ).fetchone()
    if row is None:
        raise LookupError(f"provisioning request {request_id} does not exist")
    return dict(row)


def set_in_use(dsn: str, request_id: int, in_use: bool = True) -> dict[str, Any]:
    """Flag (or release) a demo as in use: the retention clean-up never deletes a flagged demo."""
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(
            "UPDATE provisioning_requests SET in_use = %s, updated_at = now() WHERE id = %s "
            "RETURNING id, status, in_use, demo_removed_at, finished_at",
            (in_use, request_id),
        ).fetchone()
    if row is None:
        raise LookupError(f"provisioning request {request_id} does not exist")
    return dict(row)
