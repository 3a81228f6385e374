"""The shared `warehouse` fixture: simulated app data extracted to raw, bad rows quarantined, counts reconciled."""

import psycopg
import pytest

from orchestration.simulator import SIMULATED_TABLES
from tests.conftest import LoadedWarehouse

pytestmark = pytest.mark.calendar  # the simulated window ends today


def test_every_simulated_row_is_in_raw_or_quarantine(warehouse: LoadedWarehouse) -> None:
    quarantined_somewhere = 0
    with psycopg.connect(warehouse.settings.warehouse_dsn) as conn:  # type: ignore[arg-type]
        # the simulated tables only: provisioning tests write their own requests into the app database
        for table in SIMULATED_TABLES:
            (raw,) = conn.execute(f"select count(*) from raw.{table}").fetchone()  # type: ignore[misc]
            quarantined = 0
            if conn.execute("select to_regclass(%s)", (f"quarantine.{table}",)).fetchone()[0]:  # type: ignore[index]
                (quarantined,) = conn.execute(f"select count(*) from quarantine.{table}").fetchone()  # type: ignore[misc]
            quarantined_somewhere += quarantined
            assert raw + quarantined == warehouse.report.rows[table], table
    assert quarantined_somewhere > 0, "the fixture plants defects: some rows must be quarantined"
