"""The process tree, read from /proc: what a test checks of the processes Dagster started."""

from __future__ import annotations

import time
from pathlib import Path

from orchestration.lib.run_launcher import process_alive

PROC = Path("/proc")


def command_line(pid: int) -> str:
    return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()


def parent(pid: int) -> int:
    status = (PROC / str(pid) / "status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, children before grandchildren."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = parent(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, StopIteration):
                continue  # ended while the tree was read
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, of in parents.items() if of in frontier]
        found.extend(children)
        frontier = children
    return found


def wait_gone(pid: int, timeout: float = 10.0, what: str = "") -> None:
    """Until ``pid`` is no live process (a zombie counts as gone); fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        assert time.monotonic() < deadline, what or f"{pid} still alive"
        time.sleep(0.01)
