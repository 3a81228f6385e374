"""Great Expectations Data Docs, reachable from the UI: GX writes them as files under
``<PLATFORM_HOME>/data_docs``; ``make ui`` serves that folder over http (``PLATFORM_DATA_DOCS_URL``),
and the checks' metadata links a validation's page there, which a browser opens from the UI's
http page (a ``file://`` link it will not)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from foundation.settings import load_settings


def data_docs_dir() -> Path:
    return load_settings().data_docs_dir


def http_link(file_url: str, directory: Path | None = None, base_url: str | None = None) -> str:
    """A ``file://`` URL of a page under the Data Docs folder as its URL on the Data Docs server
    (any other URL unchanged)."""
    settings = load_settings()
    directory, base_url = directory or settings.data_docs_dir, (base_url or settings.data_docs_url).rstrip("/")
    parsed = urlparse(file_url)
    if parsed.scheme != "file":
        return file_url
    try:
        relative = Path(unquote(parsed.path)).resolve().relative_to(directory.resolve())
    except ValueError:
        return file_url
    return f"{base_url}/{quote(relative.as_posix())}"
