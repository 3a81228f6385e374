"""Archive fixtures: a scratch warehouse with old months, and an archive folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archive.scratch import ScratchWarehouse, create_scratch_warehouse, drop_scratch_warehouse
from tests.conftest import LoadedWarehouse

WARM_SHIFTS = (5, 8)  # months back (and to mid-month): both calendar months they touch are warm
COLD_SHIFT = 28  # more than two years back: cold


@pytest.fixture(scope="module")
def scratch(warehouse: LoadedWarehouse) -> Iterator[ScratchWarehouse]:
    """A fresh database per test module: raw rows of the hot window plus warm and cold months."""
    db = create_scratch_warehouse(warehouse.settings, (*WARM_SHIFTS, COLD_SHIFT), warehouse.window.end)
    yield db
    drop_scratch_warehouse(warehouse.settings, db)


@pytest.fixture
def archive_url(tmp_path: Path) -> str:
    return str(tmp_path / "archive")
