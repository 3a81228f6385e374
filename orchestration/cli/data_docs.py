"""The Data Docs server `make ui` runs beside the Dagster UI: Python's own static http server over
``<PLATFORM_HOME>/data_docs`` on ``PLATFORM_DATA_DOCS_URL`` (loopback only), stopped by pid."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@contextmanager
def data_docs_server(directory: Path, url: str) -> Iterator[int | None]:
    """Serve ``directory`` at ``url`` while the caller runs; None when the URL is not this machine's
    (production serves its Data Docs elsewhere)."""
    parsed = urlparse(url)
    if parsed.hostname not in _LOOPBACK or parsed.port is None:
        yield None
        return
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(parsed.port), "--bind", parsed.hostname, "--directory",
         str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log.info("Data Docs on %s (pid %d)", url, process.pid)
    try:
        yield process.pid
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
