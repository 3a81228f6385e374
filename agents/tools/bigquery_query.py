"""Run one generated query on BigQuery and give up on it, client-side, when its time is up.

``job_timeout_ms`` asks BigQuery to stop a job, but the caller cannot rely on it alone: an
emulator may ignore it, and the local one answers ``jobs.insert`` only once the query has
finished, so the client's own ``result(timeout=...)`` never gets a chance. ``run_query``
therefore runs the job in a daemon thread and stops waiting at the deadline; the job is
then cancelled in the background (best effort) and the thread ends whenever the server
answers. The caller is free at the deadline either way.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from google.cloud import bigquery

log = logging.getLogger(__name__)

# Time for the server's own timeout error to arrive before the client gives up on it.
GRACE_SECONDS = 2.0
_NO_RETRY = bigquery.DEFAULT_RETRY.with_predicate(lambda _error: False)


class QueryDeadlineExceeded(TimeoutError):
    """The query did not finish within its time; the job was abandoned (and a cancel sent)."""

    def __init__(self, job_id: str, seconds: float) -> None:
        super().__init__(f"BigQuery job {job_id} did not finish within {seconds:g} s; abandoned")
        self.job_id = job_id
        self.seconds = seconds


@dataclass(frozen=True)
class QueryOutcome:
    job_id: str
    result: Any  # bigquery.table.RowIterator: its schema describes the rows
    rows: list[bigquery.Row]


def _cancel(client: bigquery.Client, job_id: str, location: str | None) -> None:
    try:
        # No retries: a cancel that times out behind the running query must not be sent again and again.
        client.cancel_job(job_id, location=location, retry=_NO_RETRY, timeout=30)
    except Exception as error:  # noqa: BLE001 - best effort: the server-side timeout also ends it
        log.info("could not cancel abandoned BigQuery job %s: %s", job_id, error)


def run_query(
    client: bigquery.Client,
    sql: str,
    *,
    job_config: bigquery.QueryJobConfig,
    timeout_seconds: float,
    job_id_prefix: str = "guarded_",
) -> QueryOutcome:
    """The rows of ``sql``, or ``QueryDeadlineExceeded`` after ``timeout_seconds`` (+ ``GRACE_SECONDS``).

    Errors of the job itself (``GoogleAPICallError``) are raised as they are."""
    job_id = f"{job_id_prefix}{uuid.uuid4().hex}"
    deadline = timeout_seconds + GRACE_SECONDS
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            # No HTTP timeout on the insert, no job retry: an emulator answers jobs.insert only when the
            # query ends, and a timed-out insert would be retried, running the same query again and again.
            job = client.query(sql, job_config=job_config, job_id=job_id, job_retry=None)
            result = job.result(timeout=deadline)
            outcome["value"] = QueryOutcome(job_id, result, list(result))
        except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = error

    worker = threading.Thread(target=work, name=f"bigquery-{job_id}", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        threading.Thread(target=_cancel, args=(client, job_id, client.location), name=f"cancel-{job_id}",
                         daemon=True).start()
        raise QueryDeadlineExceeded(job_id, timeout_seconds)
    error = outcome.get("error")
    if isinstance(error, TimeoutError):  # result(timeout=...) gave up on a job still running
        threading.Thread(target=_cancel, args=(client, job_id, client.location), daemon=True).start()
        raise QueryDeadlineExceeded(job_id, timeout_seconds) from error
    if error is not None:
        raise error
    value: QueryOutcome = outcome["value"]
    return value
