"""``platform-dbt``: dbt's own command line, as a process that dies with the process that started it.

A dbt step starts ``dbt build`` as a child process. When the run worker dies without stopping it
(killed with its code server: ``make ui`` stopped mid-run, a restart), the orphaned ``dbt build``
went on writing to the warehouse. Run monitoring fails the dead run within seconds and the run is
retried (``run_launcher.py``): the retry's ``dbt build`` then ran beside the orphan on the same
views and tables, the overlap the ``platform/dbt`` queue limit exists to prevent.

This entry point first asks Linux to send it SIGKILL when its parent dies (``PR_SET_PDEATHSIG``),
then runs dbt in the same process. ``orchestration/lib/dbt_project.py``'s ``dbt_executable()``
names it for every dbt the platform starts. A dbt killed this way leaves what a killed dbt leaves
(the SIGKILL campaign of tests/realtime covers it): each model's transaction is rolled back and the
retry builds it again.
"""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Have the kernel kill this process when its parent dies; returns whether it will.

    A parent that died in the instant between starting this process and this call is not noticed
    (this process then runs as dbt did before). Its parent's pid says nothing: in a container the
    run worker that starts dbt is often pid 1 itself."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)


def main() -> None:
    die_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())
