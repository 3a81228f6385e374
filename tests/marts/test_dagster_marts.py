"""The marts as Dagster assets: lineage from raw, partitioned runs, failures a person can act on."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtCliInvocation, DbtCliResource

from foundation.catalog import SOURCE_TABLES
from foundation.settings import today as platform_today
from orchestration.lib.dbt_env import dbt_environment
from orchestration.lib.dbt_project import DBT_PROJECT_DIR, dbt_executable
from tests.dbt_helpers import mart_model_keys
from tests.defs_helpers import domain_defs
from tests.marts.conftest import DbtBuild, dbt_resource, read_sql

MART_GROUPS = {"marts", "ml_features", "exports"}
RAW_KEYS = {dg.AssetKey(["raw", t.name]) for t in SOURCE_TABLES}


def test_dbt_environment_from_socket_and_tcp_dsns() -> None:
    socket = dbt_environment("postgresql://platform_owner@/warehouse?host=/tmp/plt-x/pgdata")
    assert socket["PLATFORM_WAREHOUSE_HOST"] == "/tmp/plt-x/pgdata"
    assert socket["PLATFORM_WAREHOUSE_PORT"] == "5432"
    assert (socket["PLATFORM_WAREHOUSE_USER"], socket["PLATFORM_WAREHOUSE_DBNAME"]) == ("platform_owner", "warehouse")
    tcp = dbt_environment("host=db.internal port=6432 user=etl password=s3cret dbname=dw")
    assert (tcp["PLATFORM_WAREHOUSE_HOST"], tcp["PLATFORM_WAREHOUSE_PORT"]) == ("db.internal", "6432")
    assert tcp["PLATFORM_WAREHOUSE_PASSWORD"] == "s3cret"
    with pytest.raises(ValueError, match="dbname"):
        dbt_environment("host=db.internal user=etl")


def test_every_mart_descends_from_raw(dbt_manifest: None) -> None:
    graph = domain_defs("marts").resolve_asset_graph()
    marts = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name in MART_GROUPS]
    assert {tuple(k.path) for k in marts} == mart_model_keys() and len(marts) >= 21
    for key in marts:
        raw_upstream = {k for k in _ancestors(graph, key) if k in RAW_KEYS}
        assert raw_upstream, f"{key.to_user_string()} has no raw upstream"
    staging = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "staging"]
    assert all(k.path[0] in ("staging", "reference") for k in staging)
    assert graph.get(dg.AssetKey(["marts", "agent_analytics"])).partitions_def is not None
    assert graph.get(dg.AssetKey(["marts", "agent_leaderboard"])).partitions_def is None
    assert graph.get(dg.AssetKey(["marts", "agent_performance"])).group_name == "exports"
    checks = {c.asset_key for c in graph.asset_check_keys}
    assert dg.AssetKey(["marts", "agent_analytics"]) in checks


def _ancestors(graph: dg.AssetGraph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


DAY_QUERIES = {
    "agent_analytics": "select * from marts.agent_analytics where day = '{day}' order by agent_id",
    "llm_cost_breakdown": "select * from marts.llm_cost_breakdown where day = '{day}' "
    "order by provider, model, agent_id, agent_name",
    "customer_churn_features": "select * from marts.customer_churn_features where day = '{day}' order by customer_id",
    "user_budget_status": "select * from marts.user_budget_status where day = '{day}' order by user_id",
    "revenue_metrics": "select * from marts.revenue_metrics where day = '{day}' order by industry",
}


def _snapshot(dsn: str, day: date) -> dict[str, list[tuple]]:
    return {name: [tuple(r) for r in read_sql(dsn, q.format(day=day)).itertuples(index=False)]
            for name, q in DAY_QUERIES.items()}


def test_a_partition_run_replaces_its_day_exactly(built_marts: DbtBuild, warehouse_dsn: str) -> None:
    from orchestration.defs.marts.assets import DAILY_MART_KEYS, marts

    assert built_marts.returncode == 0
    day = read_sql(warehouse_dsn, "select max(day) as day from marts.agent_analytics "
                   f"where day < '{platform_today() - timedelta(days=1)}'").day[0]
    full_build = _snapshot(warehouse_dsn, day)
    totals = read_sql(warehouse_dsn, "select count(*) as n from marts.customer_churn_features").n[0]
    resources = {"dbt": dbt_resource(warehouse_dsn)}

    for _ in range(2):
        result = dg.materialize([marts], selection=list(DAILY_MART_KEYS), partition_key=day.isoformat(),
                                resources=resources)
        assert result.success
        # one window's rows equal what the full-history build computed for that day
        assert _snapshot(warehouse_dsn, day) == full_build
    assert read_sql(warehouse_dsn, "select count(*) as n from marts.customer_churn_features").n[0] == totals
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    materialized = {m.asset_key for m in result.get_asset_materialization_events() if m.asset_key}
    assert dg.AssetKey(["marts", "agent_analytics"]) in materialized
    # each model's column types, column lineage (fetched beside dbt, in a worker thread) and the day's rows
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata  # type: ignore[union-attr]
        assert {"dagster/column_schema", "dagster/row_count"} <= set(metadata), event.asset_key
    lineage = [e for e in result.get_asset_materialization_events()
               if "dagster/column_lineage" in e.materialization.metadata]  # type: ignore[union-attr]
    assert len(lineage) >= len(materialized) // 2
    # the successful dbt step left no target folder of its own behind (target/<step>-<run>-<id>)
    assert not list((DBT_PROJECT_DIR / "target").glob(f"*-{result.run_id[:7]}-*"))


def test_a_day_run_that_builds_no_daily_model_builds_the_others_whole(built_marts: DbtBuild, warehouse_dsn: str) -> None:
    """One op holds the daily models and the others: a run for a day (the UI materializing a raw day
    and a full-refresh mart beside it) that selects none of the daily models builds the mart whole,
    unpartitioned, with its table's row count, while the other asset gets the day."""
    from orchestration.defs.marts.assets import DAILY_MART_KEYS, marts
    from orchestration.lib.partitions import daily_partitions

    assert built_marts.returncode == 0
    leaderboard = dg.AssetKey(["marts", "agent_leaderboard"])
    assert leaderboard in marts.keys and leaderboard not in DAILY_MART_KEYS

    @dg.asset(key=["raw", "a_day"], partitions_def=daily_partitions)
    def a_day() -> None:  # stands for the raw day the run is for
        return None

    rows = read_sql(warehouse_dsn, "select count(*) as n from marts.agent_leaderboard").n[0]
    day = platform_today() - timedelta(days=2)
    result = dg.materialize([marts, a_day], selection=[leaderboard, a_day.key], partition_key=day.isoformat(),
                            resources={"dbt": dbt_resource(warehouse_dsn)})
    assert result.success
    events = {e.asset_key: e for e in result.get_asset_materialization_events()}
    assert events[a_day.key].partition == day.isoformat()
    event = events[leaderboard]
    assert event.partition is None
    assert event.materialization.metadata["dagster/row_count"].value == rows  # type: ignore[union-attr]


def test_a_day_that_became_empty_loses_its_old_rows(built_marts: DbtBuild, warehouse_dsn: str) -> None:
    """delete+insert alone keeps a day the new result has no rows for; the window pre-hook empties it."""
    import psycopg

    from orchestration.defs.marts.assets import DAILY_MART_KEYS, marts

    assert built_marts.returncode == 0
    empty_day = read_sql(warehouse_dsn, "select min(day) as day from marts.llm_cost_breakdown").day[0] - timedelta(10)
    with psycopg.connect(warehouse_dsn) as conn:  # rows of a day whose source rows have since gone
        conn.execute("insert into marts.llm_cost_breakdown (day, provider, model, agent_id, agent_name, calls) "
                     "values (%s, 'stale', 'stale', -1, 'stale', 1)", (empty_day,))
        conn.execute("insert into marts.revenue_metrics (day, industry) values (%s, 'stale')", (empty_day,))
    before = read_sql(warehouse_dsn, "select count(*) as n from marts.llm_cost_breakdown").n[0]
    resources = {"dbt": dbt_resource(warehouse_dsn)}

    try:
        result = dg.materialize([marts], selection=list(DAILY_MART_KEYS), partition_key=empty_day.isoformat(),
                                resources=resources)
        assert result.success
        for mart in ("llm_cost_breakdown", "revenue_metrics"):  # a daily mart and an export-shaped one
            left = read_sql(warehouse_dsn, f"select count(*) as n from marts.{mart} where day = '{empty_day}'")  # noqa: S608
            assert left.n[0] == 0, mart
        # nothing else was touched
        assert read_sql(warehouse_dsn, "select count(*) as n from marts.llm_cost_breakdown").n[0] == before - 1
    finally:
        # back to the full build the other tests compare with: the run gave every customer and user a row
        # for the day (the per-entity marts cover every day of their window), which the full build has not
        with psycopg.connect(warehouse_dsn) as conn:
            for (mart,) in conn.execute("select table_name from information_schema.columns where table_schema = "
                                        "'marts' and column_name = 'day'").fetchall():
                conn.execute(f"delete from marts.{mart} where day = %s", (empty_day,))  # noqa: S608


def _one_model_project(tmp_path: Path, model: str, sql: str) -> Path:
    """The project's settings and macros with one model of its own: parses in seconds."""
    project = tmp_path / "dbt_project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(DBT_PROJECT_DIR / name, project / name)
    shutil.copytree(DBT_PROJECT_DIR / "macros", project / "macros")
    (project / "models" / "marts").mkdir(parents=True)
    (project / "models" / "marts" / f"{model}.sql").write_text(sql)
    return project


def test_a_compile_error_names_the_model_and_quotes_dbt(tmp_path: Path, warehouse_dsn: str) -> None:
    from orchestration.defs.marts.assets import describe_failure

    project = _one_model_project(tmp_path, "broken_mart", "select {{ ref('no_such_model') }}.x\n")
    invocation = DbtCliResource(project_dir=str(project), dbt_executable=dbt_executable()).cli(
        ["compile", "--select", "broken_mart"], raise_on_error=False)
    invocation.wait()
    description = describe_failure(invocation).description or ""
    assert "broken_mart" in description
    assert "no_such_model" in description
    assert "Traceback" not in description


def _unable_to_partial_parse(invocation: DbtCliInvocation) -> bool:
    names = [e.raw_event["info"]["name"] for e in invocation.stream_raw_events()]
    return "UnableToPartialParse" in names


def test_a_step_that_had_to_parse_again_leaves_its_parse_to_the_next(tmp_path: Path, warehouse_dsn: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt re-parses the whole project when the profile it renders is not the one of the kept partial parse
    (the warehouse moved since ``platform dbt-prepare``). Each dbt step parses in its own target folder,
    removed after it: without handing its parse on, every later step parsed everything again."""
    from orchestration.defs.marts.assets import PARTIAL_PARSE, discard_artifacts

    project = _one_model_project(tmp_path, "one", "select 1 as x\n")
    dbt = DbtCliResource(project_dir=str(project), dbt_executable=dbt_executable())
    for name, value in dbt_environment(warehouse_dsn).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PLATFORM_WAREHOUSE_PORT", "6543")  # parsed for another warehouse
    prepared = dbt.cli(["parse"], target_path=project / "target").wait()
    assert prepared.is_successful()
    kept = project / "target" / PARTIAL_PARSE
    before = kept.read_bytes()

    monkeypatch.setenv("PLATFORM_WAREHOUSE_PORT", dbt_environment(warehouse_dsn)["PLATFORM_WAREHOUSE_PORT"])
    first = dbt.cli(["parse"], raise_on_error=False)
    assert _unable_to_partial_parse(first) and first.is_successful()
    assert Path(first.target_path).parent == project / "target"
    discard_artifacts(first)
    assert not Path(first.target_path).exists()
    assert kept.read_bytes() != before  # the step's parse, for this warehouse

    second = dbt.cli(["parse"], raise_on_error=False)
    assert not _unable_to_partial_parse(second) and second.is_successful()
    discard_artifacts(second)


def test_a_failing_dbt_test_fails_its_check_with_the_failing_row_count(built_marts: DbtBuild,
                                                                       warehouse_dsn: str) -> None:
    """A mart that breaks its key: the dbt test's check fails with dbt's failure count, the run names it."""
    import psycopg

    from orchestration.defs.marts.assets import marts

    assert built_marts.returncode == 0
    mart = dg.AssetKey(["ml_features", "ml_pr_rework_features"])
    check = next(k for k in marts.check_keys if k.asset_key == mart and k.name.startswith("unique_"))
    with psycopg.connect(warehouse_dsn) as conn:  # three pull requests twice
        conn.execute("insert into ml_features.ml_pr_rework_features "
                     "(select * from ml_features.ml_pr_rework_features order by pull_request_id limit 3)")
    try:
        # Only the check runs (dbt build --select <the test>): the mart is not rebuilt over the planted rows.
        defs = dg.Definitions(
            assets=[marts],
            jobs=[dg.define_asset_job("key_check", selection=dg.AssetSelection.checks(check))],
            resources={"dbt": dbt_resource(warehouse_dsn)})
        result = defs.resolve_job_def("key_check").execute_in_process(raise_on_error=False)
    finally:
        with psycopg.connect(warehouse_dsn) as conn:  # back to the built mart for the other tests
            conn.execute("delete from ml_features.ml_pr_rework_features a using ml_features.ml_pr_rework_features b "
                         "where a.pull_request_id = b.pull_request_id and a.ctid > b.ctid")
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == check.name]
    assert evaluation.passed is False
    assert evaluation.metadata["dagster_dbt/failed_row_count"].value == 3  # the three duplicated keys
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    description = failure.step_failure_data.user_failure_data.description or ""  # type: ignore[union-attr]
    assert check.name in description and "3 failing rows" in description
    assert read_sql(warehouse_dsn, "select count(*) - count(distinct pull_request_id) as d "
                                   "from ml_features.ml_pr_rework_features").d[0] == 0


def test_column_lineage_is_parsed_again_only_when_what_it_reads_changed(tmp_path: Path, warehouse_dsn: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each dbt step attaches a model's column lineage, which sqlglot derives from the compiled SQL and the
    columns of the model and its parents: 4.4 s a day for the same SQL and columns every day. It is kept
    in the project's target folder and used while none of those changed; it is never stale."""
    import psycopg
    from dagster_dbt.core.dbt_event_iterator import _fetch_column_metadata

    from orchestration.lib.dbt_metadata import LINEAGE_CACHE, column_metadata

    project = _one_model_project(tmp_path, "lineage_probe_parent", "select 1 as x, 2 as y\n")
    child_sql = project / "models" / "marts" / "lineage_probe_child.sql"
    child_sql.write_text("select x as z from {{ ref('lineage_probe_parent') }}\n")
    for name, value in dbt_environment(warehouse_dsn).items():
        monkeypatch.setenv(name, value)
    dbt = DbtCliResource(project_dir=str(project), dbt_executable=dbt_executable())
    assert dbt.cli(["parse"], target_path=project / "target").wait().is_successful()

    def child_metadata() -> tuple[dict[str, object], dict[str, object]]:
        """The child's metadata as the platform attaches it, and as dagster-dbt computes it."""
        invocation = dbt.cli(["run"], manifest=project / "target" / "manifest.json")
        # outside a step dagster-dbt streams materializations; a step's Outputs carry the same metadata
        [built] = [e for e in invocation.stream() if isinstance(e, dg.AssetMaterialization)
                   and e.asset_key.path[-1] == "lineage_probe_child"]
        return (column_metadata(invocation, built),  # type: ignore[arg-type]
                _fetch_column_metadata(invocation, built, True) or {})

    def depends_on(metadata: dict[str, object]) -> list[str]:
        lineage = metadata["dagster/column_lineage"]
        assert isinstance(lineage, dg.TableColumnLineage)
        return [f"{d.asset_key.path[-1]}.{d.column_name}" for d in lineage.deps_by_column["z"]]

    kept = project / LINEAGE_CACHE
    try:
        first, computed = child_metadata()
        assert first == computed and depends_on(first) == ["lineage_probe_parent.x"]
        [entry] = kept.glob("model.*.lineage_probe_child.*.json")
        written = entry.stat().st_mtime_ns

        again, computed = child_metadata()  # nothing changed: read, not parsed and written again
        assert again == computed == first
        assert entry.stat().st_mtime_ns == written

        # the SQL changed, not a column or a type: only the SQL tells the old lineage from the new
        child_sql.write_text("select y as z from {{ ref('lineage_probe_parent') }}\n")
        changed, computed = child_metadata()
        assert changed == computed and depends_on(changed) == ["lineage_probe_parent.y"]
        assert len(list(kept.glob("model.*.lineage_probe_child.*.json"))) == 1  # one file per model
    finally:
        with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
            for relation in ("lineage_probe_child", "lineage_probe_parent"):
                conn.execute(f"drop table if exists marts.{relation} cascade")


def test_only_the_newest_failed_dbt_step_folders_are_kept(tmp_path: Path) -> None:
    """A failed dbt step keeps its target folder for a look, a killed one cannot remove it: before a
    dbt step starts, all but the newest ten go. The project's own files are never touched."""
    import os

    from orchestration.defs.marts.assets import KEPT_FAILED_STEPS, prune_failed_artifacts

    target = tmp_path / "target"
    steps = []
    for i in range(KEPT_FAILED_STEPS + 5):
        step = target / f"marts-{i:07x}-{i * 7:07x}"
        (step / "compiled").mkdir(parents=True)
        (step / "manifest.json").write_text("{}")
        os.utime(step, (1_700_000_000 + i, 1_700_000_000 + i))
        steps.append(step)
    own = [target / "compiled", target / "column_lineage", target / "run"]
    for folder in own:
        folder.mkdir()
    (target / "partial_parse.msgpack").write_bytes(b"parse")

    removed = prune_failed_artifacts(target)
    assert sorted(removed) == sorted(steps[:5])  # the oldest
    assert all(s.exists() for s in steps[5:]) and not any(s.exists() for s in steps[:5])
    assert all(f.exists() for f in own) and (target / "partial_parse.msgpack").exists()
    assert prune_failed_artifacts(target) == []
    assert prune_failed_artifacts(tmp_path / "no_target") == []
