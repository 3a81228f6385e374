"""Run a table's suite with Great Expectations 1.x against PostgreSQL, computed in the database.

- One ephemeral GX context per process and warehouse (``GXSession``): suites are code,
  nothing is read from disk; the context, its data source (one SQLAlchemy engine) and each
  table asset (one reflection of each batch view) are made once and reused by every suite
  the process validates, so a run's cost is its queries, not GX start-up. Each validation
  has its own suite, validation definition and checkpoint (uniquely named), so results never
  mix. ``GX_ANALYTICS_ENABLED=false`` is forced.
- The warehouse DSN becomes a SQLAlchemy URL kept out of the GX config: GX only holds the
  ``${…}`` reference, the value lives in the context's runtime environment (never written
  to Data Docs or logs). A Unix-socket host travels in the URL's query (``?host=/dir``),
  where SQLAlchemy's psycopg dialect passes it on to libpq unchanged.
- The batch is ``quality.batch_<schema>__<table>``: the table (a partitioned table's window,
  set on every pooled connection GX checks out, from the validation in progress) plus a computed column per rule that no built-in
  expectation expresses (references, JSON, late rows, cross-field order). Every expectation
  then folds into the one aggregate query GX bundles per batch: one scan of the window.
- ``result_format`` is ``BASIC`` with ``partial_unexpected_count=0``: counts and percentages,
  and GX's unexpected-value queries become ``LIMIT 0`` (PostgreSQL never runs their scan).
  A few sample values are fetched afterwards for the failing rules only, with queries that
  stop at the first matches.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg

from foundation.connections import clock_option, connect, sqlalchemy_url
from foundation.settings import now as platform_now
from quality import policy
from quality.docs_templates import share_compiled_templates
from quality.rules import QUALITY_SCHEMA, Rule, TableSuite, ident
from quality.warehouse import (
    WINDOW_END_SETTING,
    WINDOW_START_SETTING,
    ensure_batch_view,
    ensure_quality_objects,
    missing_references,
    relation_exists,
)

log = logging.getLogger(__name__)

_URL_VARIABLE = "PLATFORM_GX_WAREHOUSE_URL"
DATA_DOCS_SITE = "platform"


class TableNotBuiltError(RuntimeError):
    """The table of a suite does not exist yet (its asset was never materialized)."""


@dataclass
class RuleOutcome:
    rule: Rule
    success: bool
    blocking: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    observed_value: Any = None
    samples: list[Any] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None


@dataclass
class SuiteValidation:
    suite: TableSuite
    start: date | None
    end: date | None
    outcomes: dict[str, RuleOutcome]
    data_docs_url: str | None
    seconds: float

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes.values())


# The window of the validation in progress; every connection GX checks out gets it as settings.
_WINDOW: ContextVar[tuple[date, date] | None] = ContextVar("quality_batch_window", default=None)


@dataclass
class GXSession:
    """One GX context, data source and set of table assets, for one warehouse in one process."""

    context: Any
    source: Any
    assets: dict[str, Any] = field(default_factory=dict)
    docs: bool = False
    index_built: bool = False
    unindexed: list[Any] = field(default_factory=list)  # the last page written since the index was

    def build_docs(self, result_key: Any, suite_name: str) -> None:
        """Data Docs of one validation: its page and its suite's page. The index (GX renders a link to
        every validation the process has made: built after each of a run's ~50 validations, it cost more
        than the pages) is built with the process's first page and again when the process ends
        (``build_docs_index``)."""
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        pages = [result_key, ExpectationSuiteIdentifier(name=suite_name)]
        self.context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=pages,
                                     build_index=not self.index_built)
        self.unindexed = pages if self.index_built else []
        self.index_built = True

    def build_docs_index(self) -> None:
        """The Data Docs index, when pages were written since it was built (with the last page again:
        GX builds the index only beside a page)."""
        if self.unindexed:
            self.context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=self.unindexed,
                                         build_index=True)
            self.unindexed = []

    def batch(self, view: str) -> Any:
        """The batch view's batch definition; its table asset is reflected once per process (the
        window of each validation reaches the view through the connection's settings)."""
        if view not in self.assets:
            asset = self.source.add_table_asset(name=view, table_name=view, schema_name=QUALITY_SCHEMA)
            self.assets[view] = asset.add_batch_definition_whole_table("batch")
        return self.assets[view]


_SESSIONS: dict[tuple[str, str], GXSession] = {}
_SESSIONS_LOCK = threading.Lock()


def _set_window(dbapi_connection: Any, *_: Any) -> None:
    window = _WINDOW.get()
    if window is None:
        return
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false), set_config(%s, %s, false)",
                       (WINDOW_START_SETTING, window[0].isoformat(), WINDOW_END_SETTING, window[1].isoformat()))


def gx_session(warehouse_dsn: str, data_docs_dir: Path | None) -> GXSession:
    """The process's GX session for this warehouse (and Data Docs folder), made on first use."""
    url = sqlalchemy_url(warehouse_dsn)
    key = (url, str(data_docs_dir or ""))
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = _new_session(url, data_docs_dir)
        return _SESSIONS[key]


def _new_session(url: str, data_docs_dir: Path | None) -> GXSession:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from sqlalchemy import event

    context = gx.get_context(mode="ephemeral", runtime_environment={_URL_VARIABLE: url})
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if data_docs_dir is not None:
        share_compiled_templates()
        data_docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(site_name=DATA_DOCS_SITE, site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    source = context.data_sources.add_postgres("warehouse", connection_string="${" + _URL_VARIABLE + "}")
    # the data source tests a new asset on its own engine; validations run on the execution engine's
    for engine in {source.get_engine(), source.get_execution_engine().engine}:
        event.listen(engine, "checkout", _set_window)
    log.info("Great Expectations session for the warehouse ready (one per process)")
    session = GXSession(context, source, docs=data_docs_dir is not None)
    if session.docs:
        at_process_exit(_index_at_exit, session)
    return session


def at_process_exit(callback: Any, *args: Any) -> None:
    """Call ``callback(*args)`` when this process ends, whether it ends as an interpreter exits (a CLI,
    a spawned worker) or as a forked multiprocessing child does (``os._exit`` after its target:
    a run worker forked from the code server's warm server), which skips ``atexit``. multiprocessing
    runs its finalizers in both."""
    from multiprocessing import util

    util.Finalize(None, callback, args=args, exitpriority=10)


def _index_at_exit(session: GXSession) -> None:
    try:
        session.build_docs_index()
    except Exception:  # a process ending must not fail on its Data Docs index
        log.warning("Data Docs index not rebuilt at exit", exc_info=True)


@contextmanager
def _batch_window(start: date | None, end: date | None) -> Any:
    token = _WINDOW.set((start, end) if start is not None and end is not None else None)
    try:
        yield
    finally:
        _WINDOW.reset(token)


def _prepare(warehouse_dsn: str, suite: TableSuite) -> tuple[str, dict[str, str]]:
    """Make the batch view and the quality objects exist; returns the view and the skipped rules."""
    skipped: dict[str, str] = {}
    with psycopg.connect(warehouse_dsn) as conn:
        ensure_quality_objects(conn)
        if not relation_exists(conn, suite.schema, suite.name):
            raise TableNotBuiltError(f"{suite.suite_name} does not exist yet: materialize {'/'.join(suite.asset_key)} first")
        for rule in suite.rules:
            missing = missing_references(conn, rule)
            if missing:
                skipped[rule.name] = f"raw.{missing} is not loaded yet"
        view = ensure_batch_view(conn, suite, set(skipped))
    return view, skipped


def _sample_options(start: date | None, end: date | None, now: datetime) -> str:
    """The batch's window and the platform's clock, as settings of the sampling connection."""
    options = clock_option(now)
    if start is None or end is None:
        return options
    return f"{options} -c {WINDOW_START_SETTING}={start.isoformat()} -c {WINDOW_END_SETTING}={end.isoformat()}"


def fetch_samples(warehouse_dsn: str, suite: TableSuite, view: str, rule: Rule, options: str) -> list[Any]:
    """A few offending values of a failing row-level rule (the scan stops at the first matches)."""
    if rule.computed_column:
        column, predicate = ident(rule.computed_column), f"{ident(rule.computed_column)} IS NOT NULL"
    elif rule.row_level and not rule.windowed and rule.columns:
        column, predicate = ident(rule.column), str(rule.violation_sql(None, suite))
    else:
        return []
    with psycopg.connect(warehouse_dsn, options=options) as conn:
        rows = conn.execute(
            f"SELECT {column} FROM {ident(QUALITY_SCHEMA, view)} WHERE {predicate} LIMIT {policy.SAMPLE_VALUES}"  # noqa: S608
        ).fetchall()
    return [_plain(row[0]) for row in rows]


def validate_suite(
    suite: TableSuite,
    warehouse_dsn: str,
    start: date | None = None,
    end: date | None = None,
    *,
    source_latest: datetime | None = None,
    rule_names: set[str] | None = None,
    data_docs_dir: Path | None = None,
) -> SuiteValidation:
    """Validate ``suite`` (the window [start, end) of a partitioned table) and return one outcome per rule."""
    started = time.perf_counter()
    if suite.partitioned and (start is None or end is None):
        raise ValueError(f"{suite.suite_name} is partitioned: validate a window [start, end)")
    view, skipped = _prepare(warehouse_dsn, suite)
    now = platform_now()
    outcomes: dict[str, RuleOutcome] = {}
    expectations = []
    for rule in suite.rules:
        if rule_names is not None and rule.name not in rule_names or rule.kind == "error_budget":
            continue
        blocking = suite.blocking(rule)
        if rule.name in skipped:
            outcomes[rule.name] = RuleOutcome(rule, True, blocking, skipped=skipped[rule.name])
            continue
        expectation = rule.expectation(suite, now, source_latest)
        if expectation is None:
            outcomes[rule.name] = RuleOutcome(rule, True, blocking, skipped="no source activity in the window")
            continue
        expectations.append(expectation)

    docs_url = None
    options = _sample_options(start, end, now)
    if expectations:
        import great_expectations as gx

        session = gx_session(warehouse_dsn, data_docs_dir)
        with _batch_window(start, end):  # adding the asset queries the view too
            run = _run(session, gx, session.batch(view), suite, expectations,
                       {"result_format": "BASIC", "partial_unexpected_count": 0}, f"{start}..{end}" if start else "snapshot")
        docs_url = run["docs_url"]
        for result in run["results"]:
            name = result.expectation_config.meta.get("rule")
            rule = suite.rule(name)
            found = dict(result.result or {})
            outcome = RuleOutcome(rule, bool(result.success), suite.blocking(rule),
                                  unexpected_count=found.get("unexpected_count"),
                                  unexpected_percent=found.get("unexpected_percent"),
                                  element_count=found.get("element_count"),
                                  observed_value=_plain(found.get("observed_value")))
            if rule.kind in ("unique", "unique_latest"):
                observed = found.get("observed_value")
                if not observed:
                    # no values at all (an empty window): nothing can be duplicated
                    outcome.success, outcome.unexpected_percent = True, 0.0
                elif isinstance(observed, float):
                    outcome.unexpected_percent = round((1 - observed) * 100, 6)
            error = _exception_message(result.exception_info)
            if error:
                outcome.success, outcome.error = False, error
            elif not outcome.success:
                outcome.samples = fetch_samples(warehouse_dsn, suite, view, rule, options)
            outcomes[name] = outcome
    seconds = time.perf_counter() - started
    log.info("validated %s %s in %.2fs: %d/%d rules pass", suite.suite_name,
             f"[{start}, {end})" if start else "snapshot", seconds,
             sum(o.success for o in outcomes.values()), len(outcomes))
    return SuiteValidation(suite, start, end, outcomes, docs_url, seconds)

def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _run(session: GXSession, gx: Any, batch_definition: Any, suite: TableSuite, expectations: list[Any],
         result_format: Any, label: str) -> dict[str, Any]:
    """One GX validation of ``expectations``; Data Docs updated when the session keeps them."""
    context = session.context
    name = f"{suite.suite_name}.{label}.{uuid.uuid4().hex[:8]}"
    # the suite keeps its own name in Data Docs; this validation's expectations replace the last ones
    gx_suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite.suite_name, expectations=expectations))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_definition,
                                                                            suite=gx_suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=[definition],
                                                       actions=[], result_format=result_format))
    outcome = checkpoint.run()
    (key, result), = outcome.run_results.items()
    docs_url = None
    if session.docs:
        session.build_docs(key, suite.suite_name)
        urls = context.get_docs_sites_urls(resource_identifier=key, site_name=DATA_DOCS_SITE)
        docs_url = urls[0]["site_url"] if urls else None
    return {"results": result.results, "docs_url": docs_url}


def _exception_message(info: Any) -> str | None:
    """GX reports errors either flat or keyed by the failing metric: the first message, short."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))[:500]
    for value in info.values():
        if isinstance(value, dict) and (value.get("exception_message") or value.get("exception_traceback")):
            return str(value.get("exception_message") or value.get("exception_traceback"))[-500:]
    return None


def source_latest(app_dsn: str, suite: TableSuite, start: date, end: date) -> datetime | None:
    """The latest source activity inside the window (freshness is measured against it)."""
    column = ident(suite.partition_column or "")
    with connect(app_dsn, attempts=2) as conn:
        row = conn.execute(
            f"SELECT max({column}) FROM {ident('public', suite.name)} "  # noqa: S608 - own identifiers
            f"WHERE {column} >= %s::timestamptz AND {column} < %s::timestamptz",
            (f"{start.isoformat()} 00:00:00+00", f"{end.isoformat()} 00:00:00+00"),
        ).fetchone()
    return row[0] if row else None
