"""`platform quarantine list|release`: inspect quarantined rows and move fixed ones back to raw.

Wired into ``orchestration/cli/main.py`` with ``add_commands(subparsers)``. Release re-validates
every selected row against today's rules and moves back only those that pass; the rest
stay, with the rules they still break. A row fixed in place (``UPDATE quarantine.<t> …``)
or a rule relaxed in ``quality/policy.py`` / ``quality/rules.py`` is what makes a row pass.
"""

from __future__ import annotations

import argparse
import sys

from quality.rules import RAW_SUITES


def _warehouse_dsn() -> str:
    from orchestration.stack.control import stack_up

    settings = stack_up()
    if not settings.warehouse_dsn:
        raise SystemExit("no warehouse configured (PLATFORM_WAREHOUSE_DSN)")
    return settings.warehouse_dsn


def _cmd_list(args: argparse.Namespace) -> int:
    from foundation.connections import connect
    from quality.quarantine import quarantine_summary

    with connect(args.dsn or _warehouse_dsn()) as conn:
        rows = quarantine_summary(conn, args.table)
    if not rows:
        sys.stdout.write("quarantine is empty\n")
        return 0
    sys.stdout.write(f"{'table':<24} {'partition':<12} {'rule':<40} rows\n")
    for table, day, rule, count in rows:
        sys.stdout.write(f"{table:<24} {day or 'snapshot'!s:<12} {rule:<40} {count}\n")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from foundation.connections import connect
    from quality.quarantine import release

    ids = [i for chunk in (args.ids or []) for i in chunk.split(",") if i]
    with connect(args.dsn or _warehouse_dsn()) as conn:
        result = release(conn, args.table, rule=args.rule, ids=ids or None)
    sys.stdout.write(f"released {result.released} row(s) of quarantine.{args.table} back to raw.{args.table}\n")
    for rule, count in result.still_failing.items():
        sys.stdout.write(f"  still failing {rule}: {count} row(s) kept in quarantine\n")
    if result.released:
        sys.stdout.write("re-run the table's asset checks (and the marts of those partitions) to pick them up\n")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `quarantine list|release` to the platform command line."""
    quarantine = subparsers.add_parser("quarantine", help="list or release quarantined rows")
    actions = quarantine.add_subparsers(dest="quarantine_command", required=True)

    listing = actions.add_parser("list", help="quarantined rows per table, partition and rule")
    listing.add_argument("--table", choices=sorted(RAW_SUITES))
    listing.add_argument("--dsn", help=argparse.SUPPRESS)
    listing.set_defaults(func=_cmd_list)

    releasing = actions.add_parser("release", help="re-validate quarantined rows and move those that pass to raw")
    releasing.add_argument("--table", required=True, choices=sorted(RAW_SUITES))
    releasing.add_argument("--rule", help="only rows quarantined for this rule (e.g. payload_valid_json)")
    releasing.add_argument("--ids", nargs="+", help="primary keys (space or comma separated)")
    releasing.add_argument("--dsn", help=argparse.SUPPRESS)
    releasing.set_defaults(func=_cmd_release)

