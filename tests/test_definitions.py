"""The whole code location loads and reads as one lineage graph: raw -> staging -> marts -> exports/ml."""

from __future__ import annotations

from dagster import AssetKey

from foundation.catalog import SOURCE_TABLES


def test_the_graph_connects_every_layer() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    assert {AssetKey(["raw", t.name]) for t in SOURCE_TABLES} <= keys
    groups = {graph.get(k).group_name for k in keys}
    assert {"raw", "staging", "marts", "ml_features", "exports", "archive", "ml", "quality", "provisioning"} <= groups

    def upstream_raw(key: AssetKey) -> set[AssetKey]:
        seen, todo = set(), [key]
        while todo:
            for parent in graph.get(todo.pop()).parent_keys:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return {k for k in seen if k.path[0] == "raw"}

    assert AssetKey(["raw", "tasks"]) in upstream_raw(AssetKey(["marts", "agent_analytics"]))
    assert AssetKey(["marts", "agent_performance"]) in graph.get(AssetKey(["exports", "agent_performance"])).parent_keys
    assert AssetKey(["raw", "tasks"]) in graph.get(AssetKey(["archive", "tasks"])).parent_keys
    assert upstream_raw(AssetKey(["ml", "rework_model"])) >= {AssetKey(["raw", "pull_requests"])}


def test_every_raw_asset_has_blocking_quality_checks() -> None:
    from orchestration.definitions import defs

    specs = [spec for checks in defs.asset_checks or [] for spec in checks.check_specs]  # type: ignore[union-attr]
    blocking = {spec.asset_key for spec in specs if spec.blocking}
    for table in SOURCE_TABLES:
        assert AssetKey(["raw", table.name]) in blocking, table.name


def test_schedules_sensors_and_jobs() -> None:
    from orchestration.definitions import defs

    assert defs.resolve_schedule_def("daily_pipeline_job_schedule").cron_schedule == "0 2 * * *"
    assert defs.resolve_schedule_def("archive_monthly_schedule") is not None
    assert defs.resolve_schedule_def("exports_daily_schedule") is not None
    assert defs.resolve_sensor_def("provisioning_requests_sensor") is not None
    assert defs.resolve_sensor_def("ml_retraining_sensor") is not None
    for job in ("daily_pipeline_job", "exports_daily_job", "archive_monthly_job", "ml_training_job",
                "provisioning_job"):
        assert defs.resolve_job_def(job) is not None
