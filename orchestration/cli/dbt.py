"""`platform dbt-env` (export lines for the plain dbt CLI), `platform dbt-prepare` (the manifest
Dagster loads; never committed) and `platform dbt-sources` (dbt's sources from the catalogue)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from orchestration.cli.shell import add_secrets_flag, print_exports
from orchestration.lib.dbt_env import WAREHOUSE_DSN_VARIABLE, dbt_environment
from orchestration.lib.dbt_project import DBT_PROJECT_DIR, prepare_manifest
from orchestration.lib.dbt_sources import SOURCES_YAML, render_sources_yaml

# dbt_project/profiles.yml reads the password from this variable (dbt_environment sets it)
PASSWORD_VARIABLE = "PLATFORM_WAREHOUSE_PASSWORD"


def _cmd_prepare(_: argparse.Namespace) -> int:
    prepare_manifest()
    logging.getLogger(__name__).info("dbt manifest ready in %s", DBT_PROJECT_DIR / "target")
    return 0


def _cmd_env(args: argparse.Namespace) -> int:
    """Print ``export`` lines for a shell; starts the embedded stack when no warehouse is configured.

    dbt's password variable and the DSN's password only with ``--with-secrets`` (``make dbt-build``
    passes it straight to ``eval``); without it dbt's libpq reads ``~/.pgpass``.
    """
    from orchestration.stack.postgres import ensure_environment

    settings = ensure_environment()
    dsn = settings.warehouse_dsn or os.environ[WAREHOUSE_DSN_VARIABLE]
    # The DSN itself too, so later commands of the same shell reach the same warehouse.
    print_exports({**dbt_environment(dsn), WAREHOUSE_DSN_VARIABLE: dsn}, command="dbt-env",
                  with_secrets=args.with_secrets, password_variables={PASSWORD_VARIABLE})
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    rendered = render_sources_yaml()
    if args.check:
        if SOURCES_YAML.read_text() != rendered:
            print(f"{SOURCES_YAML} differs from foundation/catalog.py: run `platform dbt-sources`", file=sys.stderr)
            return 1
        return 0
    SOURCES_YAML.write_text(rendered)
    print(f"wrote {SOURCES_YAML}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    env = subparsers.add_parser("dbt-env", help="export lines for the plain dbt CLI: eval \"$(platform dbt-env)\"")
    add_secrets_flag(env)
    env.set_defaults(func=_cmd_env)
    subparsers.add_parser("dbt-prepare", help="parse the dbt project into the manifest Dagster loads"
                          ).set_defaults(func=_cmd_prepare)
    sources = subparsers.add_parser("dbt-sources", help="render dbt's raw sources from the source catalogue")
    sources.add_argument("--check", action="store_true", help="only report whether the committed file is current")
    sources.set_defaults(func=_cmd_sources)
