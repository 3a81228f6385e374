"""Targets of forked processes that do something as they end (tests/test_run_workers.py)."""

from __future__ import annotations

import atexit
from pathlib import Path

from quality.validation import at_process_exit


def _write(path: str) -> None:
    Path(path).write_text("ended")


def with_atexit(path: str) -> None:
    atexit.register(_write, path)


def with_at_process_exit(path: str) -> None:
    at_process_exit(_write, path)
