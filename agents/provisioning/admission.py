"""Which pending provisioning requests may be launched: deadline, duplicate URL, quota per requester.

A provisioning run is expensive (LLM calls, BigQuery loads, two run slots for the whole
platform), and anyone with the CLI can ask for one. Before the sensor launches a pending
request it checks, in this order:

1. deadline: a request still pending ``deadline`` after it was created is stale (the
   person asking has moved on; the slots were busy) and is not launched;
2. duplicate: the same normalised URL (``normalize_url``) already launched within
   ``duplicate_window`` (queued, running or succeeded) is not built twice;
3. quota: at most ``requests_per_requester`` launched requests per requester in a rolling
   24 h.

A refused request is marked ``failed`` with the reason in ``error`` (and never counts
against the quota); the sensor repeats the reasons in its skip message. The limits are
the ``REQUEST_LIMITS`` below: this is the one place they are defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg

from agents.provisioning.requests import ProvisioningRequest

QUOTA_WINDOW = timedelta(hours=24)
# Statuses of a request that was launched and did not fail or get cancelled before starting.
_LAUNCHED = "(status IN ('queued', 'running', 'succeeded') OR started_at IS NOT NULL)"


@dataclass(frozen=True)
class RequestLimits:
    requests_per_requester: int = 10  # launched requests per requester in a rolling 24 h
    duplicate_window: timedelta = timedelta(hours=1)  # the same normalised URL is built once per window
    deadline: timedelta = timedelta(hours=6)  # a request pending longer than this is not launched


REQUEST_LIMITS = RequestLimits()


@dataclass
class Admission:
    launch: list[ProvisioningRequest] = field(default_factory=list)
    refused: list[tuple[ProvisioningRequest, str]] = field(default_factory=list)  # (request, reason)

    def refusal_summary(self, limit: int = 5) -> str:
        shown = [f"request {r.id} ({reason})" for r, reason in self.refused[:limit]]
        more = len(self.refused) - limit
        return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def normalize_url(url: str) -> str:
    """The URL as the same site: scheme, ``www.``, default port, fragment, trailing slash and
    query order do not make a different demo; the path's case does (it can)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{netloc}{path}" + (f"?{query}" if query else "")


def _hours(delta: timedelta) -> str:
    return f"{round(delta.total_seconds() / 3600, 1):g} h"


@dataclass(frozen=True)
class _Launch:
    id: int
    url: str
    requested_by: str
    created_at: datetime


def _recent_launches(conn: psycopg.Connection, since: datetime) -> list[_Launch]:
    rows = conn.execute(
        "SELECT id, customer_url, requested_by, created_at FROM provisioning_requests "  # noqa: S608
        f"WHERE created_at >= %s AND {_LAUNCHED}",
        (since,),
    ).fetchall()
    return [_Launch(int(i), str(u), str(r), c) for i, u, r, c in rows]


def admit(
    dsn: str, pending: list[ProvisioningRequest], *, now: datetime, limits: RequestLimits = REQUEST_LIMITS
) -> Admission:
    """Split ``pending`` (oldest first) into requests to launch and refusals; refusals are marked failed."""
    outcome = Admission()
    if not pending:
        return outcome
    pending_ids = {r.id for r in pending}
    with psycopg.connect(dsn) as conn:
        since = now - max(QUOTA_WINDOW, limits.duplicate_window)
        # A pending request never counts against itself (the sensor may see it again after a reset).
        recent = [launch for launch in _recent_launches(conn, since) if launch.id not in pending_ids]
        urls = {normalize_url(launch.url): launch.id for launch in sorted(recent, key=lambda launch: launch.id)
                if launch.created_at >= now - limits.duplicate_window}
        counts: dict[str, int] = {}
        for launch in recent:
            if launch.created_at >= now - QUOTA_WINDOW:
                counts[launch.requested_by] = counts.get(launch.requested_by, 0) + 1
        for request in pending:
            reason = _refusal(request, now, limits, urls, counts)
            if reason is None:
                outcome.launch.append(request)
                urls.setdefault(normalize_url(request.customer_url), request.id)
                counts[request.requested_by] = counts.get(request.requested_by, 0) + 1
            else:
                outcome.refused.append((request, reason))
        with conn.transaction():
            for request, reason in outcome.refused:
                conn.execute(
                    "UPDATE provisioning_requests SET status = 'failed', error = %s, finished_at = now(), "
                    "updated_at = now() WHERE id = %s AND status = 'pending'",
                    (f"not launched: {reason}", request.id),
                )
    return outcome


def _refusal(
    request: ProvisioningRequest, now: datetime, limits: RequestLimits, urls: dict[str, int], counts: dict[str, int]
) -> str | None:
    if request.created_at is not None and now - request.created_at > limits.deadline:
        waited = now - request.created_at
        return (f"past its deadline: pending for {_hours(waited)} (deadline {_hours(limits.deadline)}); "
                "resubmit it with `platform provision URL` if it is still wanted")
    earlier = urls.get(normalize_url(request.customer_url))
    if earlier is not None:
        return (f"duplicate of request {earlier}: the same site was requested within "
                f"{_hours(limits.duplicate_window)}; its demo is (or will be) that request's result")
    used = counts.get(request.requested_by, 0)
    if used >= limits.requests_per_requester:
        return (f"quota: {request.requested_by} already has {used} provisioning requests in the last 24 h "
                f"(at most {limits.requests_per_requester}); try again later")
    return None
