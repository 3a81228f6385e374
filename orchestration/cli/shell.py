"""Export lines for a shell to ``eval``: ``platform env`` and ``platform dbt-env``.

Every value is quoted with ``shlex.quote``, so quotes, ``$(…)`` and backticks in a value reach the
shell as text and never run. Passwords stay out of the output unless ``--with-secrets`` asks for
them: what a terminal, a CI log or a pasted snippet shows carries none.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Collection, Mapping

from foundation.connections import dsn_without_password

WITH_SECRETS_HELP = ("also print the passwords of the DSNs; for eval \"$(platform … --with-secrets)\" only, "
                     "never in a terminal or a log")


def add_secrets_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--with-secrets", action="store_true", help=WITH_SECRETS_HELP)


def print_exports(variables: Mapping[str, str], *, command: str, with_secrets: bool,
                  password_variables: Collection[str] = ()) -> None:
    """``export NAME=<quoted value>`` per variable. Without ``with_secrets``, a ``*_DSN`` loses its
    password and ``password_variables`` are left out; stderr then says how to connect without them."""
    left_out = []
    for name, value in variables.items():
        if not with_secrets and name in password_variables:
            if value:
                left_out.append(name)
            continue
        if not with_secrets and name.endswith("_DSN"):
            bare = dsn_without_password(value)
            if bare != value:
                left_out.append(name)
            value = bare
        sys.stdout.write(f"export {name}={shlex.quote(value)}\n")
    if left_out:
        print(f"platform {command}: the passwords of {', '.join(left_out)} are left out. A Unix-socket host "
              "with trust authentication needs none; for a TCP host put the password in ~/.pgpass (or the file "
              "PGPASSFILE names: psql, dbt and the platform read it), or evaluate the output directly: "
              f"eval \"$(platform {command} --with-secrets)\"", file=sys.stderr)
