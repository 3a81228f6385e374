"""The shared `warehouse` fixture: simulated app data extracted to raw, bad rows quarantined, counts reconciled."""

import psycopg

from orchestration.defs.raw.catalog import SOURCE_TABLES
from tests.conftest import LoadedWarehouse


def test_every_simulated_row_is_in_raw_or_quarantine(warehouse: LoadedWarehouse) -> None:
    quarantined_somewhere = 0
    with psycopg.connect(warehouse.settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        for table in SOURCE_TABLES:
            (raw,) = conn.execute(f"select count(*) from raw.{table.name}").fetchone()  # type: ignore[misc]
            quarantined = 0
            if conn.execute("select to_regclass(%s)", (f"quarantine.{table.name}",)).fetchone()[0]:  # type: ignore[index]
                (quarantined,) = conn.execute(f"select count(*) from quarantine.{table.name}").fetchone()  # type: ignore[misc]
            quarantined_somewhere += quarantined
            assert raw + quarantined == warehouse.report.rows.get(table.name, 0), table.name
    assert quarantined_somewhere > 0, "the fixture plants defects: some rows must be quarantined"
