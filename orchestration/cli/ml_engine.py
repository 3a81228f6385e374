"""`platform ml health`: is the ML engine answering on the replica? (seed 003's /health/ml)

Prints the engine's version, a tiny train/predict round trip on the ML session, where its reads
went (the replica, or the primary after a fail-over) and the replica's lag; exits 1 when unhealthy.
Wired into ``orchestration/cli/main.py`` with ``add_commands(subparsers)``.
"""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_health(args: argparse.Namespace) -> int:
    from orchestration.lib.ml_health import ml_health
    from orchestration.lib.resources import PostgresResource
    from orchestration.stack.control import stack_up

    settings = stack_up()
    assert settings.warehouse_dsn
    report = ml_health(PostgresResource(dsn=settings.warehouse_dsn), PostgresResource(dsn=settings.read_dsn))
    if args.json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        width = max(len(key) for key in report)
        for key, value in report.items():
            sys.stdout.write(f"{key:<{width}}  {value}\n")
    return 0 if report["healthy"] and "replica_failover" not in report else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    ml = sub.add_parser("ml", help="the ML engine")
    commands = ml.add_subparsers(dest="ml_command", required=True)
    health = commands.add_parser("health", help="version, a train/predict round trip on the replica, its lag")
    health.add_argument("--json", action="store_true", help="one JSON object")
    health.set_defaults(func=_cmd_health)
