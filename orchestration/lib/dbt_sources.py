"""dbt's copy of the source catalogue: ``dbt_project/models/staging/_sources.yml`` is rendered from
``foundation.catalog`` (``platform dbt-sources`` writes it; ``tests/test_layers.py`` fails when the
committed file and the catalogue disagree)."""

from __future__ import annotations

from foundation.catalog import SOURCE_TABLES, SourceTable
from foundation.settings import REPO_ROOT

SOURCES_YAML = REPO_ROOT / "dbt_project" / "models" / "staging" / "_sources.yml"

_HEADER = """\
version: 2

# Rendered from foundation/catalog.py by `platform dbt-sources`: edit the catalogue, not this file.
# The raw layer: one table per app-database table, extracted by orchestration/defs/raw.
# Dagster maps each table to the asset key raw/<table> (see orchestration/lib/dbt_translator.py).
sources:
  - name: raw
    schema: raw
    description: Verbatim copies of the app database tables plus _partition_date and _extracted_at.
    loaded_at_field: _extracted_at
    tables:
"""
# Daily tables are extracted at 02:00 for the day before: a day-old table is on time.
_DAILY_FRESHNESS = """\
        freshness:
          warn_after: {count: 26, period: hour}
          error_after: {count: 50, period: hour}
"""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table(table: SourceTable) -> str:
    how = f"daily partitions of {table.partition_column}" if table.partitioned else "snapshot"
    lines = [
        f"      - name: {table.name}\n",
        f"        description: {_quoted(f'{table.description} ({table.domain}; {how})')}\n",
        f"        meta: {{domain: {table.domain}}}\n",
        _DAILY_FRESHNESS if table.partitioned else "        freshness: null\n",
        "        columns:\n",
        f"          - name: {table.primary_key}\n",
        "            data_tests: [not_null]\n",
    ]
    return "".join(lines)


def render_sources_yaml() -> str:
    return _HEADER + "".join(_table(t) for t in SOURCE_TABLES)
