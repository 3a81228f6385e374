"""Orphans: embeddings whose source no longer exists, and generated files past their TTL.

An embedding (``code_embeddings`` in the app database) names its source in ``source_path``. A
source the platform itself holds is written ``<table>/<id>``: ``chat_sessions/<id>``,
``provisioning_requests/<id>`` (a demo's context: gone once the demo is removed) and
``data_agents/<id>``. Such an embedding whose row is gone is an orphan and is deleted at once
(``orphan_embeddings`` in ``foundation/retention.py``). Other paths (files of a code repository)
are not the platform's to judge and are never touched.

Generated files are the synthetic Parquet of provisioning runs, one folder per request under
``<PLATFORM_HOME>/provisioning``; a folder older than the ``generated_files`` TTL whose request is
not pending, queued or running is removed.

Embeddings are deleted and recorded in one transaction. A folder gets an ``intent`` row in
``housekeeping_deletions`` first, is removed, then the row is set ``done``; the next run finishes an
intent a crash left open.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from datamove.faults import fault_point
from datamove.housekeeping import ledger
from foundation.retention import POLICY
from foundation.settings import now as platform_now

log = logging.getLogger(__name__)

# source_path prefix → the app table whose row must exist (and, for a demo, not be removed)
EMBEDDING_SOURCES: dict[str, str] = {
    "chat_sessions": "EXISTS (SELECT 1 FROM chat_sessions s WHERE s.id = e.source_id)",
    "data_agents": "EXISTS (SELECT 1 FROM data_agents a WHERE a.id = e.source_id)",
    "provisioning_requests": ("EXISTS (SELECT 1 FROM provisioning_requests r WHERE r.id = e.source_id "
                              "AND r.demo_removed_at IS NULL)"),
}
ACTIVE_REQUEST_STATUSES = ("pending", "queued", "running")


@dataclass
class OrphanReport:
    embeddings: dict[str, int] = field(default_factory=dict)  # by source kind
    files: list[str] = field(default_factory=list)  # folders removed
    bytes: int = 0
    kept_active: list[str] = field(default_factory=list)  # past the TTL, but their request still runs

    @property
    def embeddings_total(self) -> int:
        return sum(self.embeddings.values())

    def counts(self) -> dict[str, int]:
        return {"orphan_embeddings": self.embeddings_total, "generated_files": len(self.files),
                "generated_bytes": self.bytes}

    def kinds(self) -> list[str]:
        found = [f"embeddings:{kind}" for kind, n in sorted(self.embeddings.items()) if n]
        return found + (["generated_files"] if self.files else [])


def _orphan_query(select: str) -> str:
    cases = " OR ".join(f"(e.kind = '{kind}' AND NOT {exists})" for kind, exists in EMBEDDING_SOURCES.items())
    return (f"WITH e AS (SELECT id, split_part(source_path, '/', 1) AS kind, "  # noqa: S608 - constants
            f"CASE WHEN source_path ~ '^[a-z_]+/[0-9]+$' THEN split_part(source_path, '/', 2)::bigint END AS source_id "
            f"FROM code_embeddings WHERE source_path ~ '^({'|'.join(EMBEDDING_SOURCES)})/[0-9]+$') "
            f"{select} FROM e WHERE {cases}")


def orphan_embeddings(app_dsn: str) -> dict[str, int]:
    """How many orphans of each source kind there are now (nothing deleted)."""
    with psycopg.connect(app_dsn) as conn:
        rows = conn.execute(_orphan_query("SELECT e.kind, count(*)") + " GROUP BY e.kind").fetchall()  # noqa: S608 - constants
    return {kind: int(n) for kind, n in rows}


def remove_orphan_embeddings(app_dsn: str, *, now: datetime | None = None,
                             report: OrphanReport | None = None) -> OrphanReport:
    now = now or platform_now()
    report = report if report is not None else OrphanReport()
    rule = POLICY["orphan_embeddings"]
    with psycopg.connect(app_dsn) as conn:
        rows = conn.execute(
            "WITH gone AS (DELETE FROM code_embeddings WHERE id IN (" + _orphan_query("SELECT e.id") + ") "  # noqa: S608
            "RETURNING split_part(source_path, '/', 1) AS kind) SELECT kind, count(*) FROM gone GROUP BY kind"
        ).fetchall()
        for kind, n in rows:
            ledger.record_done(conn, kind="embeddings", target=f"code_embeddings:{kind}", items=int(n), now=now,
                               reason=f"{rule.name}: the {kind} row they were computed from no longer exists")
            report.embeddings[kind] = report.embeddings.get(kind, 0) + int(n)
        fault_point("orphans.before_commit")
    fault_point("orphans.embeddings_removed")
    return report


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _newest_mtime(folder: Path) -> float:
    return max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.rglob("*"))])


def _active_requests(app_dsn: str, names: list[str]) -> set[str]:
    ids = [int(n) for n in names if n.isdigit()]
    if not ids:
        return set()
    with psycopg.connect(app_dsn) as conn:
        rows = conn.execute("SELECT id FROM provisioning_requests WHERE id = ANY(%s) AND status = ANY(%s)",
                            (ids, list(ACTIVE_REQUEST_STATUSES))).fetchall()
    return {str(r[0]) for r in rows}


def remove_expired_files(app_dsn: str, work_dir: Path, *, now: datetime | None = None,
                         report: OrphanReport | None = None) -> OrphanReport:
    """Request folders under ``work_dir`` untouched for longer than the TTL and not of a running request."""
    now = now or platform_now()
    report = report if report is not None else OrphanReport()
    rule = POLICY["generated_files"]
    _finish_open_intents(app_dsn, report)
    if not work_dir.is_dir():
        return report
    cutoff = (now - rule.keep).timestamp()
    expired = sorted(p for p in work_dir.iterdir() if p.is_dir() and _newest_mtime(p) < cutoff)
    active = _active_requests(app_dsn, [p.name for p in expired])
    for folder in expired:
        if folder.name in active:
            report.kept_active.append(str(folder))
            continue
        with psycopg.connect(app_dsn) as conn:
            intent = ledger.record_intent(conn, kind="generated_files", target=str(folder), now=now,
                                          request_id=_request_id(conn, folder.name),
                                          reason=f"{rule.name}: untouched for more than {rule.keep_days} d")
        fault_point("orphans.intent_recorded")
        _remove_folder(app_dsn, intent, folder, report)
    return report


def _remove_folder(app_dsn: str, intent: int, folder: Path, report: OrphanReport) -> None:
    size = _size(folder) if folder.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    fault_point("orphans.folder_removed")
    with psycopg.connect(app_dsn) as conn:
        ledger.complete(conn, intent, items=1, details={"bytes": size})
    report.files.append(str(folder))
    report.bytes += size


def _finish_open_intents(app_dsn: str, report: OrphanReport) -> None:
    """Folders an earlier run recorded the intent for and then crashed: they were due, finish them."""
    with psycopg.connect(app_dsn) as conn:
        intents = ledger.open_intents(conn, "generated_files")
    for intent in intents:
        _remove_folder(app_dsn, intent.id, Path(intent.target), report)


def _request_id(conn: psycopg.Connection, name: str) -> int | None:
    if not name.isdigit():
        return None
    row = conn.execute("SELECT id FROM provisioning_requests WHERE id = %s", (int(name),)).fetchone()
    return int(row[0]) if row else None


def sweep_orphans(app_dsn: str, work_dir: Path, *, now: datetime | None = None) -> OrphanReport:
    now = now or platform_now()
    report = remove_orphan_embeddings(app_dsn, now=now)
    return remove_expired_files(app_dsn, work_dir, now=now, report=report)


def report_metadata(report: OrphanReport) -> dict[str, Any]:
    return {**report.counts(), "kinds": report.kinds(), "embeddings_by_source": dict(report.embeddings)}
