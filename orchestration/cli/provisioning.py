"""`platform provision URL …`: ask for a demo (a provisioning_requests row the sensor picks up).

Wired into ``orchestration/cli/main.py`` with ``add_commands(subparsers)``. ``--now`` waits for its
run: the daemon's sensor launches it (the running daemon, else one started for the command and
stopped by pid); ``platform provision-cancel ID`` sets
the cancel flag the graph honours between nodes; ``platform provision-in-use ID [--release]`` flags a
demo the retention clean-up must keep.
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

    from foundation.settings import load_settings
    from orchestration.cli.launch import await_sensor_run, code_location, serving_daemon, wait_for
    from orchestration.defs.provisioning.sensors import REQUEST_TAG, provisioning_requests_sensor

    # the sensor, evaluated by the daemon, launches the run for the code location: it shows in the UI
    with DagsterInstance.get() as instance, code_location(instance) as workspace, \
            serving_daemon(instance, workspace, {provisioning_requests_sensor.name},
                           load_settings().home / "daemon.log"):
        launched = await_sensor_run(instance, {REQUEST_TAG: str(request_id)}, lambda: refusal(dsn, request_id))
        if isinstance(launched, str):
            sys.stdout.write(f"request {request_id}: not launched: {launched}\n")
            return 1
        sys.stdout.write(f"request {request_id}: run {launched.run_id}\n")
        wait_for(instance, [launched.run_id], timeout=7200)
    request = get_request(dsn, request_id)
    from agents.provisioning.requests import request_result

    sys.stdout.write(f"request {request_id}: {request.status}\n")
    sys.stdout.write(json.dumps(request_result(dsn, request_id), indent=2, default=str) + "\n")
    return 0 if request.status == "succeeded" else 1


def refusal(dsn: str, request_id: int) -> str | None:
    """Why the sensor refused a request (it marks it failed with the reason), or None."""
    from agents.provisioning.requests import request_result

    result = request_result(dsn, request_id)
    return str(result["error"] or "refused") if result["status"] == "failed" else None


def _cmd_cancel(args: argparse.Namespace) -> int:
    from agents.provisioning.requests import request_cancel

    request_cancel(_app_dsn(), args.request_id)
    sys.stdout.write(f"cancel requested for provisioning request {args.request_id}; "
                     "it stops before its next step\n")
    return 0


def _cmd_in_use(args: argparse.Namespace) -> int:
    from agents.provisioning.requests import set_in_use
    from foundation.retention import POLICY

    try:
        row = set_in_use(_app_dsn(), args.request_id, not args.release)
    except LookupError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    if row["demo_removed_at"] is not None:
        sys.stdout.write(f"request {args.request_id}: its demo was already removed on "
                         f"{row['demo_removed_at']:%Y-%m-%d %H:%M} UTC; the flag changes nothing\n")
    elif args.release:
        sys.stdout.write(f"request {args.request_id} released: the clean-up removes its demo once the retention "
                         f"policy says so ({POLICY['succeeded_demos'].describe()})\n")
    else:
        sys.stdout.write(f"request {args.request_id} flagged in use: the clean-up keeps its demo until "
                         f"`platform provision-in-use {args.request_id} --release`\n")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `provision` and `provision-cancel` to the platform command line."""
    provision = subparsers.add_parser("provision", help="request a customer demo for a website")
    provision.add_argument("url", help="the customer's website (fetched through the URL guard)")
    provision.add_argument("--requested-by", default=getpass.getuser(), help="who asks (default: you)")
    provision.add_argument("--manual-business-name", help="used when the site cannot be fetched")
    provision.add_argument("--manual-domain", help="e.g. ecommerce, saas, healthcare_clinic (overrides detection)")
    provision.add_argument("--manual-products", help="comma-separated products or services")
    provision.add_argument("--manual-description", help="one sentence about the business")
    provision.add_argument("--now", action="store_true", help="wait for its run (starts a daemon when none serves the instance)")
    provision.set_defaults(func=_cmd_provision)

    cancel = subparsers.add_parser("provision-cancel", help="cancel a provisioning request between steps")
    cancel.add_argument("request_id", type=int)
    cancel.set_defaults(func=_cmd_cancel)

    in_use = subparsers.add_parser("provision-in-use",
                                   help="flag a demo as in use, so the retention clean-up keeps it")
    in_use.add_argument("request_id", type=int)
    in_use.add_argument("--release", action="store_true", help="clear the flag (the retention policy applies again)")
    in_use.set_defaults(func=_cmd_in_use)
