"""The shared `warehouse` fixture: simulated app data extracted to raw, counts reconciled."""

import psycopg

from orchestration.defs.raw.catalog import SOURCE_TABLES
from tests.conftest import LoadedWarehouse


def test_every_raw_table_holds_the_simulated_rows(warehouse: LoadedWarehouse) -> None:
    with psycopg.connect(warehouse.settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        for table in SOURCE_TABLES:
            (count,) = conn.execute(f"select count(*) from raw.{table.name}").fetchone()  # type: ignore[misc]  # noqa: S608
            assert count == warehouse.report.rows.get(table.name, 0), table.name
