"""Infrastructure agent: the demo's BigQuery dataset, its tables and their data, reconciled.

Loading goes through the platform's loader (``datamove.bigquery.load_table``):
Parquet into a staging table, reconciled (count and the primary key's SUM), one atomic
MERGE, read back. It is idempotent, so a resumed or retried run simply replaces the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from google.cloud import bigquery

from agents.provisioning.synthetic import TableData, generate_dataset
from agents.schemas import SchemaDesign, TableSpec
from datamove.bigquery import ReconciliationError, ensure_dataset, load_table

log = logging.getLogger(__name__)


def dataset_name(request_id: int) -> str:
    return f"demo_{request_id}"


def bigquery_schema(table: TableSpec) -> list[bigquery.SchemaField]:
    return [
        bigquery.SchemaField(c.name, c.type, mode="NULLABLE" if c.nullable else "REQUIRED",
                             description=c.description or None)  # type: ignore[arg-type]  # None = no description
        for c in table.columns
    ]


@dataclass(frozen=True)
class DataPlan:
    """How the synthetic data was (and can again be) generated: the state keeps this, not the rows."""

    folder: Path
    request_id: int
    anchor: date
    row_scale: float
    max_rows: int


def ensure_files(schema: SchemaDesign, files: Mapping[str, Mapping[str, Any]], plan: DataPlan) -> dict[str, TableData]:
    """The Parquet files named in the state; regenerated (same seed and anchor) when missing,
    e.g. when a run resumes on another machine."""
    tables = {
        name: TableData(name, Path(info["path"]), int(info["rows"]), info.get("checksum_column"))
        for name, info in files.items()
    }
    if all(t.path.exists() for t in tables.values()) and set(tables) == {t.name for t in schema.tables}:
        return tables
    log.info("synthetic files for request %s are missing; regenerating them", plan.request_id)
    return generate_dataset(schema, plan.folder, request_id=plan.request_id, anchor=plan.anchor,
                            row_scale=plan.row_scale, max_rows=plan.max_rows)


def provision_dataset(
    client: bigquery.Client,
    *,
    dataset: str,
    schema: SchemaDesign,
    files: Mapping[str, TableData],
    location: str | None = None,
    description: str = "",
) -> dict[str, int]:
    """Create ``dataset`` and its tables, load every table, return the rows read back per table."""
    ds = ensure_dataset(client, dataset, location)
    if description and ds.description != description:
        ds.description = description
        try:
            client.update_dataset(ds, ["description"])
        except Exception as error:  # noqa: BLE001 - a description is cosmetic; the emulator may refuse it
            log.debug("could not set the description of %s: %s", dataset, error)
    loaded: dict[str, int] = {}
    for table in schema.load_order():
        data = files[table.name]
        table_id = f"{dataset}.{table.name}"
        target = bigquery.Table(f"{client.project}.{table_id}" if dataset.count(".") == 0 else table_id,
                                schema=bigquery_schema(table))
        target.description = table.description or None
        client.create_table(target, exists_ok=True)
        rows = load_table(client, table_id, data.path, bigquery_schema(table), checksum_column=data.checksum_column)
        if rows != data.rows:
            raise ReconciliationError(f"{table_id}: {rows} rows in BigQuery, {data.rows} generated")
        loaded[table.name] = rows
    log.info("dataset %s: %d tables, %d rows", dataset, len(loaded), sum(loaded.values()))
    return loaded
