"""The suites as Dagster asset checks: blocking stops the marts, the scorecard, Data Docs, the graph."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from dagster import AssetExecutionContext, AssetKey, Definitions, asset, materialize

from datamove.extract import LoadPolicy
from foundation.catalog import SOURCE_TABLES, SOURCE_TABLES_BY_NAME
from foundation.settings import now as platform_now
from orchestration.defs.quality.assets import scorecard
from orchestration.defs.quality.checks import build_suite_checks
from orchestration.defs.raw import assets as raw_assets_module
from orchestration.defs.raw.assets import build_raw_asset
from orchestration.lib.partitions import daily_partitions
from orchestration.lib.resources import PostgresResource
from quality import policy
from quality.quarantine import quarantine_after_load
from quality.rules import RAW_SUITES
from quality.validation import sqlalchemy_url, validate_suite
from tests.defs_helpers import domain_defs
from tests.quality import scorecard_reference
from tests.quality.conftest import ScratchStack, one_day


@asset(key=["marts", "quality_probe"], deps=[AssetKey(["raw", "tasks"])], partitions_def=daily_partitions)
def downstream_probe(context: AssetExecutionContext) -> None:
    context.log.info("downstream of raw/tasks ran")


def _run_tasks_partition(scratch: ScratchStack):  # type: ignore[no-untyped-def]
    return materialize(
        [build_raw_asset(SOURCE_TABLES_BY_NAME["tasks"]), downstream_probe, build_suite_checks(RAW_SUITES["tasks"])],
        partition_key=one_day(scratch).isoformat(),
        resources={"app_db": PostgresResource(dsn=scratch.app_dsn),
                   "warehouse_db": PostgresResource(dsn=scratch.warehouse_dsn)},
        raise_on_error=False,
    )


def _materialized(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {"/".join(event.asset_key.path) for event in result.get_asset_materialization_events()}


def test_failing_blocking_check_stops_downstream(scratch: ScratchStack, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch.simulate({"negative_revenue": 0.1})
    scratch.load(("specialties", "agents", "customers"))
    # without the quarantine step the bad rows reach raw: the blocking check must stop the marts
    monkeypatch.setattr(raw_assets_module, "RAW_LOAD_POLICY", LoadPolicy())
    blocked = _run_tasks_partition(scratch)
    assert not blocked.success
    failed = {e.check_name: e for e in blocked.get_asset_check_evaluations() if not e.passed}
    assert "revenue_non_negative" in failed
    evaluation = failed["revenue_non_negative"]
    assert evaluation.severity.value == "ERROR" and evaluation.metadata["unexpected_count"].value >= 1
    assert evaluation.metadata["sample_values"].value
    assert _materialized(blocked) == {"raw/tasks"}

    # with it the rows are quarantined in the same load, and the marts run
    monkeypatch.setattr(raw_assets_module, "RAW_LOAD_POLICY", LoadPolicy(after=(quarantine_after_load,)))
    clean = _run_tasks_partition(scratch)
    assert clean.success
    assert _materialized(clean) == {"raw/tasks", "marts/quality_probe"}
    materialization = clean.asset_materializations_for_node("raw__tasks")[0]
    assert materialization.metadata["quarantined_rows"].value >= 1
    assert materialization.metadata["raw_plus_quarantine_reconciled"].value is True
    blocking = {e.check_name for e in clean.get_asset_check_evaluations() if e.severity.value == "ERROR"}
    assert "revenue_non_negative" in blocking


def test_scorecard_reports_the_five_metrics(scratch: ScratchStack) -> None:
    scratch.simulate(0.05)
    scratch.load()
    resources = {"warehouse_db": PostgresResource(dsn=scratch.warehouse_dsn),
                 "replica_db": PostgresResource(dsn=scratch.warehouse_dsn)}
    # A range is one run (single-run backfill policy) that scores and stores every day of it.
    days = [scratch.window.start + timedelta(days=i) for i in range((scratch.window.end - scratch.window.start).days)]
    ranged = materialize([scorecard], resources=resources,
                         tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                               "dagster/asset_partition_range_end": days[-1].isoformat()})
    materializations = ranged.asset_materializations_for_node("quality__scorecard")
    assert sorted(m.partition for m in materializations) == [d.isoformat() for d in days]  # one run, every day
    # each day carries its own scores; the window's summary is on the last day only
    assert [m.metadata["window_summary"].value["days_scored"] for m in materializations  # type: ignore[index]
            if "window_summary" in m.metadata] == [len(days)]
    for m in materializations:  # each day's scores, as stored for that day
        assert m.metadata["dagster/row_count"].value == scratch.scalar(
            "select count(*) from quality.scorecard where day = %s", m.partition)

    # tasks, every metric of every day: the rows and bad rows an independent pandas count over the source finds
    planted: dict[str, int] = dict.fromkeys(policy.METRICS, 0)
    for day in days:
        expected = scorecard_reference.task_metrics(scratch.app_dsn, day, platform_now())
        with psycopg.connect(scratch.warehouse_dsn) as conn:
            stored = {m: (value, rows, bad, target, met) for m, value, rows, bad, target, met in conn.execute(
                "select metric, value, rows, bad_rows, target, met from quality.scorecard "
                "where day = %s and table_name = 'tasks'", (day,)).fetchall()}
        assert set(stored) == set(policy.METRICS)
        for metric in policy.METRICS:
            value, rows, bad, target, met = stored[metric]
            assert (rows, bad) == (expected[metric].rows, expected[metric].bad), (day, metric)
            assert value == expected[metric].value and target == policy.TARGETS[metric] and met == (value >= target)
            planted[metric] += bad
    assert all(planted.values()), f"a metric no planted defect counts against proves nothing: {planted}"

    # one day's materialization: each metric weighted by rows over every table of the day
    day = one_day(scratch)
    result = materialize([scorecard], partition_key=day.isoformat(), resources=resources)
    metadata = result.asset_materializations_for_node("quality__scorecard")[0].metadata
    with psycopg.connect(scratch.warehouse_dsn) as conn:
        by_metric = conn.execute("select metric, sum(rows), sum(bad_rows) from quality.scorecard where day = %s "
                                 "group by metric", (day,)).fetchall()
    assert {metric for metric, _, _ in by_metric} == set(policy.METRICS)
    for metric, rows, bad in by_metric:
        assert metadata[metric].value == round(1 - int(bad) / int(rows), 6), metric
    assert metadata["targets_met"].value is False and metadata["accuracy"].value < policy.TARGETS["accuracy"]
    assert "| day |" in metadata["trend"].value


def test_validation_writes_data_docs(scratch: ScratchStack, tmp_path: Path) -> None:
    scratch.simulate({"unknown_industry": 0.1})
    scratch.load(("specialties", "agents"), quarantine=False)
    validation = validate_suite(RAW_SUITES["agents"], scratch.warehouse_dsn, data_docs_dir=tmp_path / "docs")
    assert not validation.outcomes["industry_accepted"].success
    assert set(validation.outcomes["industry_accepted"].samples) == {"gaming"}
    assert validation.data_docs_url and validation.data_docs_url.startswith("file://")
    assert Path(validation.data_docs_url.removeprefix("file://")).exists()
    assert (tmp_path / "docs" / "index.html").exists()


_VALIDATE_TWO = """
import sys
from pathlib import Path
from quality.rules import RAW_SUITES
from quality.validation import validate_suite
for table in ("specialties", "agents"):
    validate_suite(RAW_SUITES[table], sys.argv[1], data_docs_dir=Path(sys.argv[2]))
"""


def test_the_data_docs_index_lists_every_validation_of_a_process(scratch: ScratchStack, tmp_path: Path) -> None:
    """A process's pages are indexed when it ends: the index is not rebuilt after each of a run's ~50
    validations (it renders a link to every validation of the process: more work than the pages)."""
    import subprocess
    import sys

    from foundation.settings import REPO_ROOT

    scratch.simulate(0.0)
    scratch.load(("specialties", "agents"), quarantine=False)
    docs = tmp_path / "docs"
    subprocess.run([sys.executable, "-c", _VALIDATE_TWO, scratch.warehouse_dsn, str(docs)], cwd=REPO_ROOT,
                   check=True, capture_output=True, timeout=300)
    pages = sorted(p.relative_to(docs).as_posix() for p in (docs / "validations").rglob("*.html"))
    assert len(pages) == 2 and {p.split("/")[2] for p in pages} == {"specialties", "agents"}
    index = (docs / "index.html").read_text()
    assert all(page in index for page in pages), pages


def test_socket_and_password_dsns_become_sqlalchemy_urls() -> None:
    from sqlalchemy.engine import make_url

    socket = make_url(sqlalchemy_url("postgresql://platform_owner@/warehouse?host=/tmp/plt-x/pgdata"))
    assert socket.drivername == "postgresql+psycopg" and socket.host is None
    assert socket.query["host"] == "/tmp/plt-x/pgdata" and socket.database == "warehouse"
    tcp = make_url(sqlalchemy_url("postgresql://u:p%40ss@db.example:6543/w?sslmode=require"))
    assert (tcp.host, tcp.port, tcp.password, tcp.query["sslmode"]) == ("db.example", 6543, "p@ss", "require")


def test_every_raw_table_has_its_suite_as_checks() -> None:
    assert quarantine_after_load in raw_assets_module.RAW_LOAD_POLICY.after
    specs = {(tuple(s.asset_key.path), s.name): s for c in domain_defs("quality").asset_checks for s in c.check_specs}
    for table in SOURCE_TABLES:
        suite = RAW_SUITES[table.name]
        for rule in suite.rules:
            spec = specs[(("raw", table.name), rule.name)]
            assert spec.blocking == suite.blocking(rule)
            assert (spec.partitions_def is not None) == table.partitioned
    assert specs[(("raw", "tasks"), "revenue_non_negative")].blocking
    assert not specs[(("raw", "tasks"), "late_arriving_rows")].blocking
    # raw, marts and quality load together with the code location's resources
    Definitions.validate_loadable(Definitions.merge(domain_defs("raw"), domain_defs("marts"), domain_defs("quality")))
    mart_checks = {tuple(s.asset_key.path) for c in domain_defs("quality").asset_checks for s in c.check_specs
                   if s.asset_key.path[0] == "marts"}
    assert ("marts", "agent_analytics") in mart_checks
