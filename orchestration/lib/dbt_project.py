"""The dbt project as Dagster sees it: a cached ``DbtProject`` and its manifest.

The manifest is never committed: ``python -m orchestration.cli.dbt`` (or
``dagster-dbt project prepare-and-package``) builds it, ``dagster dev`` rebuilds it on
every load, and a process that finds none builds it once rather than failing to load.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import chdir, contextmanager
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from packaging import version
from pydantic import Field

from foundation.settings import REPO_ROOT
from orchestration.lib.dbt_env import WAREHOUSE_DSN_VARIABLE, dbt_environment

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
_DBT_BESIDE = ("platform-dbt", "dbt")  # dbt's command lines installed beside the interpreter, preferred first


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so it works without an activated virtualenv: as
    ``platform-dbt`` (``dbt_child.py``: it dies with the process that started it), else plain dbt."""
    for name in _DBT_BESIDE:
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
    return shutil.which("dbt") or "dbt"


def _ensure_dbt_on_path() -> None:
    # dagster-dbt's preparer always runs plain `dbt`.
    if shutil.which("dbt") is None:
        os.environ["PATH"] = f"{Path(dbt_executable()).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@cache
def marts_dbt_project() -> DbtProject:
    _ensure_dbt_on_path()
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    with _environment_for_dbt(_warehouse_environment()):
        project.prepare_if_dev()
    if not project.manifest_path.exists():
        log.warning("no dbt manifest at %s: running dbt parse now (see orchestration.cli.dbt)",
                    project.manifest_path)
        prepare_manifest(project)
    return project


def _warehouse_environment() -> dict[str, str]:
    """dbt's variables for the configured warehouse (none when it is not configured yet)."""
    dsn = os.environ.get(WAREHOUSE_DSN_VARIABLE)
    return dbt_environment(dsn) if dsn else {}


def prepare_manifest(project: DbtProject | None = None) -> None:
    """Parse the dbt project into ``target/manifest.json`` (no warehouse connection needed).

    dbt keeps its partial parse only while the profile it rendered stays the same: the parse
    renders the profile of the warehouse the runs use (PLATFORM_WAREHOUSE_DSN, when set), so the
    first run after it, and every run after that, parses nothing again.
    """
    _ensure_dbt_on_path()
    project = project or DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    with _environment_for_dbt(_warehouse_environment()):
        project.preparer.prepare(project)


@cache
def _installed_dbt_version() -> version.Version:
    from importlib.metadata import version as installed

    return version.parse(installed("dbt-core"))


_ENVIRON_LOCK = threading.Lock()
_ADAPTER_LOCK = threading.Lock()
_ADAPTER: dict[str, Any] = {}  # the last adapter made in this process, and what it was made for


def _own_adapter_lock_after_fork() -> None:
    """dbt guards an adapter's connections with a multiprocessing lock (a named semaphore): a forked
    process (a run worker forked from the warm server of ``run_workers.py``) would share it with its
    parent and its siblings, and one killed while holding it would block them all. The adapter is
    only ever used inside its own process: each fork gets a lock of its own."""
    adapter = _ADAPTER.get("adapter")
    if adapter is not None:
        adapter.connections.lock = threading.RLock()


os.register_at_fork(after_in_child=_own_adapter_lock_after_fork)


@contextmanager
def _environment_for_dbt(variables: Mapping[str, str]) -> Iterator[None]:
    """dagster-dbt builds the dbt process's environment from ``os.environ`` when it starts it
    (``DbtCliResource.cli`` has no ``env``): the variables are there only while the process and
    its adapter handle are created, then the worker's environment is restored."""
    with _ENVIRON_LOCK:
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def prepared_adapter_key() -> tuple[str, ...] | None:
    """What the adapter this process has made was made for (``PlatformDbtResource.adapter_key``), if any."""
    return _ADAPTER.get("key")


class PlatformDbtResource(DbtCliResource):
    """dbt against the platform's warehouse: the connection (``profiles.yml``'s ``env_var``s) and the
    run's session settings (the partition window, the pinned clock) go to each dbt process only."""

    warehouse_dsn: str = Field(description="libpq DSN of the warehouse (PLATFORM_WAREHOUSE_DSN)")

    @cached_property
    def _cli_version(self) -> version.Version:
        """dagster-dbt asks ``dbt --version`` for this on every step (a new Python process and dbt's
        imports: 1.7 s, paid again by each dbt step of a run). For the dbt beside this interpreter it is
        the installed dbt-core's version, read once per process; any other dbt is still asked."""
        beside = Path(sys.executable).parent
        if Path(self.dbt_executable).resolve() in {(beside / name).resolve() for name in _DBT_BESIDE}:
            return _installed_dbt_version()
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        """The in-process dbt adapter dagster-dbt reads column types and row counts through. dagster-dbt
        makes a new one for every dbt step, re-parsing dbt's macros each time (1.25 s per step under
        cProfile); it is made once per process and warehouse, and remade when either changes."""
        with _ADAPTER_LOCK:
            if _ADAPTER.get("key") != self.adapter_key:
                _ADAPTER.update(key=self.adapter_key, adapter=super()._initialize_dbt_core_adapter(args))
            return _ADAPTER["adapter"]

    @property
    def adapter_key(self) -> tuple[str, ...]:
        """What this process's adapter was made for: another project or warehouse needs another."""
        return (str(self.project_dir), str(self.profiles_dir), str(self.profile), str(self.target), self.warehouse_dsn)

    def prepare_adapter(self) -> None:
        """Make this process's adapter now, as the first dbt step would (the warm server of
        ``run_workers.py`` does, so a run worker forked from it has one). Opens no connection."""
        with _environment_for_dbt(dbt_environment(self.warehouse_dsn)), chdir(self.project_dir):
            self._initialize_dbt_core_adapter([])

    def invoke(self, args: Sequence[str], *, context: Any = None,
               settings: Mapping[str, str] | None = None) -> DbtCliInvocation:
        with _environment_for_dbt(dbt_environment(self.warehouse_dsn, settings)):
            return self.cli(list(args), context=context, raise_on_error=False)


def platform_dbt(warehouse_dsn: str) -> PlatformDbtResource:
    """The project's dbt on ``warehouse_dsn``: what the code location binds as ``dbt`` (with the
    variable, resolved for each run) and what the warm server of ``run_workers.py`` makes the adapter
    for (resolved when it starts), so both ask for the same adapter."""
    # DbtCliResource takes a DbtProject (its profiles and state) where its field says str
    return PlatformDbtResource(project_dir=marts_dbt_project(),  # type: ignore[arg-type]
                               dbt_executable=dbt_executable(), warehouse_dsn=warehouse_dsn)
