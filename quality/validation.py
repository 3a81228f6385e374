"""Run a table's suite with Great Expectations 1.x against PostgreSQL, computed in the database.

- One ephemeral GX context per validation: suites are code, nothing is read from disk, and
  a validation never sees another one's state. ``GX_ANALYTICS_ENABLED=false`` is forced.
- The warehouse DSN becomes a SQLAlchemy URL kept out of the GX config: GX only holds the
  ``${…}`` reference, the value lives in the context's runtime environment (never written
  to Data Docs or logs). A Unix-socket host travels in the URL's query (``?host=/dir``),
  where SQLAlchemy's psycopg dialect passes it on to libpq unchanged.
- The batch is ``quality.batch_<schema>__<table>``: the table (a partitioned table's window,
  carried by the connection as settings) plus a computed column per rule that no built-in
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
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg

from foundation.connections import clock_option, connect, sqlalchemy_url
from foundation.settings import now as platform_now
from quality import policy
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


def _gx_context(url: str, data_docs_dir: Path | None) -> Any:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral", runtime_environment={_URL_VARIABLE: url})
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if data_docs_dir is not None:
        data_docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(site_name=DATA_DOCS_SITE, site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    return context


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


def _session_options(start: date | None, end: date | None, now: datetime) -> str:
    """The batch's window and the platform's clock, as settings of the validating connection."""
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
    options = _session_options(start, end, now)
    if expectations:
        import great_expectations as gx

        context = _gx_context(sqlalchemy_url(warehouse_dsn), data_docs_dir)
        source = context.data_sources.add_postgres(
            "warehouse", connection_string="${" + _URL_VARIABLE + "}",
            kwargs={"connect_args": {"options": options}})
        asset = source.add_table_asset(name=suite.suite_name, table_name=view, schema_name=QUALITY_SCHEMA)
        batch_definition = asset.add_batch_definition_whole_table(f"{start}..{end}" if start else "snapshot")
        run = _run(context, gx, batch_definition, suite, expectations,
                   {"result_format": "BASIC", "partial_unexpected_count": 0}, data_docs_dir)
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


def _run(context: Any, gx: Any, batch_definition: Any, suite: TableSuite, expectations: list[Any],
         result_format: Any, data_docs_dir: Path | None) -> dict[str, Any]:
    """One GX validation of ``expectations``; Data Docs updated when a folder is configured."""
    name = f"{suite.suite_name}.{uuid.uuid4().hex[:8]}"
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.suite_name, expectations=expectations))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_definition,
                                                                            suite=gx_suite))
    actions = [gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[DATA_DOCS_SITE])] if data_docs_dir else []
    checkpoint = context.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=[definition],
                                                       actions=actions, result_format=result_format))
    outcome = checkpoint.run()
    (key, result), = outcome.run_results.items()
    docs_url = None
    if data_docs_dir is not None:
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
