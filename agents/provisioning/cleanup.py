"""Provisioning clean-up: the BigQuery datasets and data agents of demos the retention policy no
longer keeps, and the LangGraph checkpoints of finished threads.

Rules (``foundation/retention.py``): a failed or cancelled request's demo goes at once, a
succeeded one ``succeeded_demos`` days after it finished, never while the request is flagged
``in_use`` (``platform provision-in-use ID``); checkpoints of finished threads go after
``checkpoints`` days.

Each demo is removed in steps that a crash can interrupt anywhere:

1. under the request's row lock, the policy is checked again and an ``intent`` row per dataset
   is committed to ``housekeeping_deletions``;
2. under the row lock again (so a demo flagged in use meanwhile is seen, or waits), the dataset is
   deleted (one that is already gone counts as deleted) and its intent is set ``done``;
3. one transaction deletes the ``data_agents`` row, records it ``done`` and stamps the request's
   ``demo_removed_at``.

A run first finishes the open intents an earlier run left (a crash between deleting a dataset
and recording it), re-checking the policy: an intent whose demo was flagged in use meanwhile is
cancelled if the dataset still exists. A BigQuery error stops the run there (the intent stays
open), so the next run carries on; nothing the policy keeps is ever touched.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery

from agents.provisioning.data_agent import capi_enabled
from agents.provisioning.graph import CHECKPOINT_SCHEMA
from agents.provisioning.infrastructure import dataset_name
from datamove.faults import fault_point
from datamove.housekeeping import ledger
from foundation.retention import POLICY
from foundation.settings import now as platform_now

log = logging.getLogger(__name__)

FINAL = ("succeeded", "failed", "cancelled")
BIGQUERY_DEADLINE_SECONDS = 120.0  # per call, retries included: then the run stops and the next one carries on
CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")


@dataclass
class CleanupReport:
    """What one clean-up run removed (and what it left, and why)."""

    datasets: list[str] = field(default_factory=list)  # deleted now
    already_gone: list[str] = field(default_factory=list)  # counted as deleted: nothing was there
    data_agents: list[int] = field(default_factory=list)
    demos: list[int] = field(default_factory=list)  # requests whose demo is now removed
    checkpoint_threads: list[str] = field(default_factory=list)
    checkpoint_rows: int = 0
    kept_in_use: list[int] = field(default_factory=list)
    cancelled_intents: list[int] = field(default_factory=list)
    resumed_intents: int = 0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"bigquery_datasets": len(self.datasets), "datasets_already_gone": len(self.already_gone),
                "data_agents": len(self.data_agents), "demos_removed": len(self.demos),
                "checkpoint_threads": len(self.checkpoint_threads), "checkpoint_rows": self.checkpoint_rows,
                "kept_in_use": len(self.kept_in_use), "resumed_intents": self.resumed_intents,
                "errors": len(self.errors)}

    def as_json(self) -> dict[str, Any]:
        return {**self.counts(), "datasets": self.datasets, "demos": self.demos, "errors": self.errors,
                "threads": self.checkpoint_threads, "in_use": self.kept_in_use}


class CleanupError(RuntimeError):
    """BigQuery failed mid-way; what is recorded is consistent and the next run carries on."""


def _reason(status: str, finished_at: datetime | None) -> str:
    if status == "succeeded":
        rule = POLICY["succeeded_demos"]
        return f"{rule.name}: succeeded demo finished {finished_at:%Y-%m-%d}, kept {rule.keep_days} d"
    return f"{POLICY['failed_demos'].name}: {status} request, its demo is not kept"


def _due_clause() -> str:
    return ("demo_removed_at IS NULL AND NOT in_use AND (status IN ('failed', 'cancelled') "
            "OR (status = 'succeeded' AND finished_at <= %(succeeded_before)s))")


def _params(now: datetime) -> dict[str, Any]:
    return {"succeeded_before": now - POLICY["succeeded_demos"].keep}


def due_requests(app_dsn: str, now: datetime | None = None) -> list[int]:
    """Requests whose demo the policy no longer keeps, oldest first."""
    now = now or platform_now()
    with psycopg.connect(app_dsn) as conn:
        rows = conn.execute(f"SELECT id FROM provisioning_requests WHERE {_due_clause()} ORDER BY id",  # noqa: S608
                            _params(now)).fetchall()
    return [int(r[0]) for r in rows]


def _is_due(conn: psycopg.Connection, request_id: int, now: datetime) -> tuple[bool, str, bool]:
    """(due, reason, in_use) under the request's row lock."""
    row = conn.execute(
        f"SELECT status, finished_at, in_use, ({_due_clause()}) AS due FROM provisioning_requests "  # noqa: S608
        "WHERE id = %(id)s FOR UPDATE", {**_params(now), "id": request_id}).fetchone()
    if row is None:
        return False, "request does not exist", False
    status, finished_at, in_use, due = row
    return bool(due), _reason(status, finished_at), bool(in_use)


def _dataset_ids(client: bigquery.Client, conn: psycopg.Connection, request_id: int) -> list[str]:
    ids = {f"{client.project}.{dataset_name(request_id)}"}
    row = conn.execute("SELECT dataset FROM data_agents WHERE request_id = %s", (request_id,)).fetchone()
    if row and row[0]:
        ids.add(row[0] if "." in row[0] else f"{client.project}.{row[0]}")
    return sorted(ids)


def _delete_dataset(client: bigquery.Client, dataset: str, deadline: float) -> bool:
    """True when it was deleted now, False when it was already gone."""
    try:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=False,
                              retry=bigquery.DEFAULT_RETRY.with_deadline(deadline), timeout=deadline)
    except google_exceptions.NotFound:
        return False
    return True


def _delete_and_complete(app_dsn: str, client: bigquery.Client, intent_id: int, dataset: str,
                         request_id: int | None, now: datetime, report: CleanupReport, deadline: float) -> bool:
    """Delete one dataset of an open intent and complete it, under the request's row lock: a demo flagged
    in use meanwhile waits for this to finish, or is seen here and kept (the intent is cancelled)."""
    with psycopg.connect(app_dsn) as conn:
        if request_id is not None:
            due, _, in_use = _is_due(conn, request_id, now)
            if not due and _dataset_exists(client, dataset, deadline):
                ledger.cancel(conn, intent_id, "in use" if in_use else "no longer due")
                report.cancelled_intents.append(intent_id)
                return False
        try:
            deleted = _delete_dataset(client, dataset, deadline)
        except (google_exceptions.GoogleAPIError, OSError) as error:
            raise CleanupError(f"deleting BigQuery dataset {dataset} failed: {type(error).__name__}: "
                               f"{str(error)[:300]}; its intent stays open for the next run") from error
        fault_point("housekeeping.dataset_deleted")
        ledger.complete(conn, intent_id, items=1, details={"already_gone": not deleted})
    fault_point("housekeeping.dataset_recorded")
    (report.datasets if deleted else report.already_gone).append(dataset)
    return True


def _finish_open_intents(app_dsn: str, client: bigquery.Client, now: datetime, report: CleanupReport,
                         deadline: float) -> None:
    with psycopg.connect(app_dsn) as conn:
        intents = ledger.open_intents(conn, "bigquery_dataset")
    for intent in intents:
        if _delete_and_complete(app_dsn, client, intent.id, intent.target, intent.request_id, now, report, deadline):
            report.resumed_intents += 1


def _dataset_exists(client: bigquery.Client, dataset: str, deadline: float) -> bool:
    try:
        client.get_dataset(dataset, retry=bigquery.DEFAULT_RETRY.with_deadline(deadline), timeout=deadline)
    except google_exceptions.NotFound:
        return False
    except (google_exceptions.GoogleAPIError, OSError) as error:
        raise CleanupError(f"reading BigQuery dataset {dataset} failed: {type(error).__name__}: "
                           f"{str(error)[:300]}; its intent stays open for the next run") from error
    return True


def _delete_capi_agent(name: str) -> None:
    """The Conversational Analytics agent, when that API is enabled (its client is optional)."""
    from google.cloud import geminidataanalytics  # type: ignore[attr-defined]

    with suppress(google_exceptions.NotFound):  # already gone counts as deleted
        geminidataanalytics.DataAgentServiceClient().delete_data_agent(name=name)


def remove_demo(app_dsn: str, client: bigquery.Client, request_id: int, *, now: datetime | None = None,
                report: CleanupReport | None = None,
                bigquery_deadline: float = BIGQUERY_DEADLINE_SECONDS) -> CleanupReport:
    """Remove one request's demo if the policy says so (idempotent; see the module's steps)."""
    now = now or platform_now()
    report = report if report is not None else CleanupReport()
    with psycopg.connect(app_dsn) as conn:
        due, reason, in_use = _is_due(conn, request_id, now)
        if not due:
            if in_use:
                report.kept_in_use.append(request_id)
            return report
        done = {r[0] for r in conn.execute(
            f"SELECT target FROM {ledger.TABLE} WHERE request_id = %s AND kind = 'bigquery_dataset' "  # noqa: S608
            "AND state = 'done'", (request_id,)).fetchall()}
        intents = [(ledger.record_intent(conn, kind="bigquery_dataset", target=ds, reason=reason,
                                         request_id=request_id, now=now), ds)
                   for ds in _dataset_ids(client, conn, request_id) if ds not in done]
    fault_point("housekeeping.intent_recorded")
    for intent_id, dataset in intents:
        if not _delete_and_complete(app_dsn, client, intent_id, dataset, request_id, now, report,
                                    bigquery_deadline):
            report.kept_in_use.append(request_id)  # flagged while we worked: its demo stays
            return report
    with psycopg.connect(app_dsn) as conn:
        _, reason, _ = _is_due(conn, request_id, now)  # the row lock: one clean-up of a request at a time
        agent = conn.execute("SELECT id, capi_agent_name FROM data_agents WHERE request_id = %s",
                             (request_id,)).fetchone()
        if agent is not None:
            if agent[1] and capi_enabled():
                _delete_capi_agent(agent[1])
            conn.execute("DELETE FROM data_agents WHERE id = %s", (agent[0],))
            ledger.record_done(conn, kind="data_agent", target=str(agent[0]), reason=reason, items=1,
                               request_id=request_id, details={"capi_agent_name": agent[1]}, now=now)
        conn.execute("UPDATE provisioning_requests SET demo_removed_at = %s, updated_at = now() WHERE id = %s",
                     (now, request_id))
        fault_point("housekeeping.before_commit")
    fault_point("housekeeping.demo_removed")
    if agent is not None:
        report.data_agents.append(int(agent[0]))
    report.demos.append(request_id)
    log.info("request %s: demo removed (%s)", request_id, reason)
    return report


def _checkpoints_exist(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{CHECKPOINT_SCHEMA}.checkpoints",)).fetchone()
    return bool(row and row[0])


def prune_checkpoints(app_dsn: str, *, now: datetime | None = None,
                      report: CleanupReport | None = None) -> CleanupReport:
    """Delete the checkpoints of threads whose request finished more than ``checkpoints`` days ago.

    One transaction per thread deletes its rows and records the deletion: either both happen or neither.
    """
    now = now or platform_now()
    report = report if report is not None else CleanupReport()
    rule = POLICY["checkpoints"]
    with psycopg.connect(app_dsn) as conn:
        if not _checkpoints_exist(conn):
            return report
        threads = [r[0] for r in conn.execute(
            f"SELECT DISTINCT c.thread_id FROM {CHECKPOINT_SCHEMA}.checkpoints c "  # noqa: S608
            "JOIN provisioning_requests r ON c.thread_id = r.id::text "
            "WHERE r.status = ANY(%s) AND r.finished_at <= %s ORDER BY 1",
            (list(FINAL), now - rule.keep)).fetchall()]
    for thread in threads:
        with psycopg.connect(app_dsn) as conn:
            rows = 0
            for table in CHECKPOINT_TABLES:
                rows += conn.execute(f"DELETE FROM {CHECKPOINT_SCHEMA}.{table} WHERE thread_id = %s",  # noqa: S608
                                     (thread,)).rowcount
            ledger.record_done(conn, kind="checkpoints", target=thread, request_id=int(thread), items=rows,
                               reason=f"{rule.name}: thread finished more than {rule.keep_days} d ago", now=now)
        fault_point("housekeeping.checkpoints_pruned")
        report.checkpoint_threads.append(thread)
        report.checkpoint_rows += rows
    return report


def clean_up_provisioning(app_dsn: str, client: bigquery.Client, *, now: datetime | None = None,
                          request_ids: list[int] | None = None,
                          bigquery_deadline: float = BIGQUERY_DEADLINE_SECONDS) -> CleanupReport:
    """The whole clean-up: open intents, then every due demo (or only ``request_ids``), then checkpoints.

    Raises ``CleanupError`` (with ``report`` attached) when BigQuery fails; what was done is recorded.
    """
    now = now or platform_now()
    report = CleanupReport()
    try:
        _finish_open_intents(app_dsn, client, now, report, bigquery_deadline)
        due = due_requests(app_dsn, now)
        for request_id in due if request_ids is None else [r for r in due if r in set(request_ids)]:
            remove_demo(app_dsn, client, request_id, now=now, report=report, bigquery_deadline=bigquery_deadline)
    except CleanupError as error:
        report.errors.append(str(error))
        error.report = report  # type: ignore[attr-defined]
        raise
    with psycopg.connect(app_dsn) as conn:
        report.kept_in_use = [int(r[0]) for r in conn.execute(
            "SELECT id FROM provisioning_requests WHERE in_use AND demo_removed_at IS NULL ORDER BY id").fetchall()]
    prune_checkpoints(app_dsn, now=now, report=report)
    return report
