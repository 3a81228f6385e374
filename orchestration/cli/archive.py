"""``platform archive …``: list, archive, restore and query the Parquet archive from a shell.

Wired into ``orchestration/cli/main.py`` with ``add_commands(sub)``::

    platform archive list [--table T]
    platform archive run --table T --month YYYY-MM [--today YYYY-MM-DD]
    platform archive restore --table T --month YYYY-MM
    platform archive query "SELECT count(*) FROM tasks"
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from datamove.archive.policy import ARCHIVED_TABLES, month_label


def _environment() -> tuple[str, str]:
    from orchestration.stack.postgres import ensure_environment

    settings = ensure_environment()
    assert settings.warehouse_dsn is not None
    return settings.warehouse_dsn, settings.archive_url


def _cmd_list(args: argparse.Namespace) -> int:
    from datamove.archive.archiver import list_archives

    dsn, _ = _environment()
    entries = list_archives(dsn, args.table)
    if not entries:
        print("nothing archived yet")
        return 0
    print(f"{'table':<14} {'month':<8} {'state':<9} {'tier':<5} {'rows':>12} {'MB':>9}  checksum")
    for e in entries:
        print(f"{e.table:<14} {month_label(e.month):<8} {e.state:<9} {e.tier:<5} {e.totals.rows:>12,} "
              f"{e.bytes / 1e6:>9.1f}  {e.checksum_column}={e.totals.checksum}")
    return 0


def _print_outcome(outcome: Any) -> None:
    print(json.dumps({
        "table": outcome.table, "month": month_label(outcome.month), "action": outcome.action,
        "tier": outcome.tier, **outcome.totals.as_json(), "bytes": outcome.bytes, "files": outcome.files,
        "seconds": round(outcome.seconds, 3), "reason": outcome.reason,
    }, indent=2))  # fmt: skip


def _cmd_run(args: argparse.Namespace) -> int:
    from datamove.archive.archiver import archive_month

    dsn, url = _environment()
    today = date.fromisoformat(args.today) if args.today else None
    _print_outcome(archive_month(args.table, args.month, warehouse_dsn=dsn, archive_url=url, today=today))
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from datamove.archive.archiver import restore_month

    dsn, url = _environment()
    _print_outcome(restore_month(args.table, args.month, warehouse_dsn=dsn, archive_url=url))
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from datamove.archive.query import archive_query

    dsn, url = _environment()
    print(archive_query(args.sql, dsn, url).to_pandas().to_string(index=False))
    return 0


def add_commands(subparsers: Any) -> None:
    """Add ``archive`` and its subcommands to the ``platform`` parser's subparsers."""
    archive = subparsers.add_parser("archive", help="the Parquet archive of old raw months (hot/warm/cold)")
    commands = archive.add_subparsers(dest="archive_command", required=True)
    tables = sorted(ARCHIVED_TABLES)

    listing = commands.add_parser("list", help="archived and restored months, from archive.manifest")
    listing.add_argument("--table", choices=tables)
    listing.set_defaults(func=_cmd_list)

    run = commands.add_parser("run", help="archive one month now (idempotent; refuses a month in the hot window)")
    run.add_argument("--table", required=True, choices=tables)
    run.add_argument("--month", required=True, help="YYYY-MM")
    run.add_argument("--today", help="judge the tiers as of this UTC date (YYYY-MM-DD)")
    run.set_defaults(func=_cmd_run)

    restore = commands.add_parser("restore", help="put an archived month back into raw (verified), then drop its files")
    restore.add_argument("--table", required=True, choices=tables)
    restore.add_argument("--month", required=True, help="YYYY-MM")
    restore.set_defaults(func=_cmd_restore)

    query = commands.add_parser("query", help="SQL over the archived months with DuckDB (views: " + ", ".join(tables) + ")")
    query.add_argument("sql")
    query.set_defaults(func=_cmd_query)
