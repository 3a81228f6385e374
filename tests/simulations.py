"""One simulation per profile per session.

A profile (seed, scale, days, end, defect rates) is simulated once into a template database,
optionally with every source table extracted into a template warehouse by the platform's raw
load (quarantine included); each test area that needs its own copy gets one with
``CREATE DATABASE … TEMPLATE`` (a file copy: far cheaper than simulating, migrating and
extracting again, and the same rows every time). Areas that used to simulate the same history
each in their own way now name one of the profiles below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from psycopg import connect, sql

from foundation.catalog import SOURCE_TABLES, Window
from foundation.settings import today as platform_today
from orchestration.simulator import SimulationReport, simulate
from orchestration.stack.postgres import OWNER_ROLE


@dataclass(frozen=True)
class Profile:
    """A simulated history: ``days`` of ``scale`` rows ending ``end_offset_days`` before today."""

    seed: int
    days: int
    defects: float | tuple[tuple[str, float], ...] = 0.0
    end_offset_days: int = 0
    scale: str = "tiny"

    @property
    def end(self) -> date:
        return platform_today() - timedelta(days=self.end_offset_days)

    @property
    def window(self) -> Window:
        return Window(self.end - timedelta(days=self.days), self.end)

    @property
    def defect_rates(self) -> dict[str, float] | float:
        return dict(self.defects) if isinstance(self.defects, tuple) else self.defects

    @property
    def key(self) -> str:
        return hashlib.sha1(repr((self, self.end)).encode()).hexdigest()[:10]


# Three clean days up to today: the real-time tier and the distributed run (the whole pipeline runs through).
CLEAN_3_DAYS = Profile(seed=11, days=3)
# Four days of the quality tests, ending two days ago (nothing is "in the future" by accident).
QUALITY_DAYS = 4


def quality_profile(defects: float | dict[str, float]) -> Profile:
    rates = tuple(sorted(defects.items())) if isinstance(defects, dict) else defects
    return Profile(seed=11, days=QUALITY_DAYS, defects=rates, end_offset_days=2)


@dataclass(frozen=True)
class Simulated:
    app_dsn: str
    report: SimulationReport
    window: Window
    warehouse_dsn: str | None = None  # with ``extracted``: every table loaded by the platform's raw load


class Simulations:
    """Template databases per profile; ``copy`` hands out fresh databases made from them."""

    def __init__(self, admin_dsn: str, dsn_of: Callable[[str], str]) -> None:
        self._admin = admin_dsn
        self._dsn_of = dsn_of  # database name -> the platform owner's DSN to it
        self._reports: dict[str, SimulationReport] = {}
        self._extracted: set[str] = set()

    def empty(self, name: str) -> str:
        """A fresh, empty database ``name`` owned by the platform role (an older one is dropped)."""
        return self._create(name)

    def _create(self, name: str, template: str | None = None) -> str:
        with connect(self._admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(OWNER_ROLE))
            if template:
                statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
            conn.execute(statement)
        if not template:
            with connect(self._admin.replace("/postgres?", f"/{name}?"), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return self._dsn_of(name)

    def _template(self, profile: Profile, extracted: bool) -> str:
        app = f"tpl_app_{profile.key}"
        if profile.key not in self._reports:
            dsn = self._create(app)
            self._reports[profile.key] = simulate(dsn, seed=profile.seed, scale=profile.scale, days=profile.days,
                                                  end_date=profile.end, defects=profile.defect_rates)
        if extracted and profile.key not in self._extracted:
            from datamove.extract import extract_table
            from orchestration.defs.raw.assets import RAW_LOAD_POLICY

            warehouse = self._create(f"tpl_wh_{profile.key}")
            for table in SOURCE_TABLES:
                extract_table(table, self._dsn_of(app), warehouse, profile.window if table.partitioned else None,
                              policy=RAW_LOAD_POLICY)
            self._extracted.add(profile.key)
        return app

    def copy(self, profile: Profile, app_name: str, warehouse_name: str | None = None) -> Simulated:
        """``app_name`` (and ``warehouse_name``, with the raw layer loaded) as fresh copies of the profile."""
        template = self._template(profile, extracted=warehouse_name is not None)
        app_dsn = self._create(app_name, template)
        warehouse_dsn = self._create(warehouse_name, f"tpl_wh_{profile.key}") if warehouse_name else None
        return Simulated(app_dsn, self._reports[profile.key], profile.window, warehouse_dsn)
