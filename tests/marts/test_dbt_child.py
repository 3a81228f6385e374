"""A dbt the platform starts dies with the process that started it (``orchestration/lib/dbt_child.py``).

A run worker killed with its code server used to leave its ``dbt build`` running on the warehouse,
beside the retry's. The starter here stands for the run worker: it starts a child, reports the
child's pid and is killed with SIGKILL, so nothing of it can stop the child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from foundation.settings import REPO_ROOT
from orchestration.lib.dbt_project import dbt_executable
from orchestration.lib.run_launcher import process_alive

_STARTER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert child.stdout is not None and child.stdout.readline().strip() == "ready"
print(child.pid, flush=True)
time.sleep(300)
"""
_CHILD = "import time{prepare}; print('ready', flush=True); time.sleep(300)"
_DIES_WITH_PARENT = "; from orchestration.lib.dbt_child import die_with_parent; assert die_with_parent()"


def _orphan_survives(prepare: str) -> bool:
    """Kill the starter of a child; whether the child still runs two seconds later (it is then killed)."""
    starter = subprocess.Popen([sys.executable, "-c", _STARTER, _CHILD.format(prepare=prepare)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    child = int(starter.stdout.readline())
    starter.kill()
    starter.wait()
    deadline = time.monotonic() + 2
    while process_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = process_alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    return alive


def test_a_child_that_asked_to_die_with_its_parent_does_and_one_that_did_not_is_orphaned() -> None:
    assert not _orphan_survives(_DIES_WITH_PARENT)
    assert _orphan_survives("")  # what dbt did before: it ran on without its run worker


def test_the_platforms_dbt_is_dbt_itself_started_as_platform_dbt() -> None:
    executable = dbt_executable()
    assert Path(executable).name == "platform-dbt"
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"installed: {version('dbt-core')}" in done.stdout
