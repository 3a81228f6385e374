"""`platform provision URL …`: ask for a demo (a provisioning_requests row the sensor picks up).

Wired into ``orchestration/cli/main.py`` with ``add_commands(subparsers)``. ``--now`` also runs it
in-process through the sensor path (no daemon needed); ``platform provision-cancel ID`` sets
the cancel flag the graph honours between nodes.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys


def _app_dsn() -> str:
    from orchestration.stack.control import stack_up

    settings = stack_up()
    if not settings.app_dsn:
        raise SystemExit("no app database configured (PLATFORM_APP_DSN)")
    return settings.app_dsn


def _cmd_provision(args: argparse.Namespace) -> int:
    from agents.provisioning.requests import get_request, insert_request, manual_input_from

    dsn = _app_dsn()
    products = [p.strip() for p in (args.manual_products or "").split(",") if p.strip()] or None
    manual = manual_input_from(args.manual_business_name, args.manual_domain, products, args.manual_description)
    from foundation.settings import now as platform_now

    request_id = insert_request(dsn, args.url, args.requested_by, manual, now=platform_now())
    sys.stdout.write(f"provisioning request {request_id} created for {args.url}\n")
    if not args.now:
        sys.stdout.write("the provisioning sensor launches it within seconds when the daemon runs (`make ui`)\n")
        return 0
    from dagster import DagsterInstance

    from orchestration.cli.sensor_runs import provision_via_sensor

    with DagsterInstance.get() as instance:
        provision_via_sensor(instance, platform_definitions())
    request = get_request(dsn, request_id)
    from agents.provisioning.requests import request_result

    sys.stdout.write(f"request {request_id}: {request.status}\n")
    sys.stdout.write(json.dumps(request_result(dsn, request_id), indent=2, default=str) + "\n")
    return 0 if request.status == "succeeded" else 1


def _cmd_cancel(args: argparse.Namespace) -> int:
    from agents.provisioning.requests import request_cancel

    request_cancel(_app_dsn(), args.request_id)
    sys.stdout.write(f"cancel requested for provisioning request {args.request_id}; "
                     "it stops before its next step\n")
    return 0


def platform_definitions():
    """The code location's definitions when provisioning is wired in, else ours plus the shared resources."""
    from dagster import Definitions

    from orchestration.definitions import defs

    if any(s.name == "provisioning_requests_sensor" for s in defs.sensors or []):
        return defs
    from orchestration.defs import provisioning
    from orchestration.defs.exports.assets import bigquery_resource
    from orchestration.lib.resources import postgres_resources

    return Definitions.merge(provisioning.defs,
                             Definitions(resources={**postgres_resources(), "bigquery": bigquery_resource()}))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `provision` and `provision-cancel` to the platform command line."""
    provision = subparsers.add_parser("provision", help="request a customer demo for a website")
    provision.add_argument("url", help="the customer's website (fetched through the URL guard)")
    provision.add_argument("--requested-by", default=getpass.getuser(), help="who asks (default: you)")
    provision.add_argument("--manual-business-name", help="used when the site cannot be fetched")
    provision.add_argument("--manual-domain", help="e.g. ecommerce, saas, healthcare_clinic (overrides detection)")
    provision.add_argument("--manual-products", help="comma-separated products or services")
    provision.add_argument("--manual-description", help="one sentence about the business")
    provision.add_argument("--now", action="store_true", help="run it in-process now (no daemon needed)")
    provision.set_defaults(func=_cmd_provision)

    cancel = subparsers.add_parser("provision-cancel", help="cancel a provisioning request between steps")
    cancel.add_argument("request_id", type=int)
    cancel.set_defaults(func=_cmd_cancel)
