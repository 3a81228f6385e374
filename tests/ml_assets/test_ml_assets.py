"""The ML assets materialized against the real embedded PostgreSQL: models, score tables, log, quality bar."""

from __future__ import annotations

import logging

import dagster as dg
import pytest

from orchestration.defs.marts.translator import MartsTranslator
from orchestration.defs.ml import defs
from orchestration.defs.ml.assets import build_model_asset
from orchestration.defs.ml.predictions import SCORE_TABLES
from orchestration.defs.ml.specs import ALL_MODELS, ANOMALY, COMPLEXITY, MODELS, REWORK, TRAJECTORY, UNIFIED
from orchestration.resources import postgres_resources
from tests.ml_assets.conftest import MLWarehouse, materialization_metadata

log = logging.getLogger(__name__)

QUALITY_BAR = 0.9  # each model reaches 90% of the simulator's best achievable metric
KEY = dg.AssetKey


def test_graph_shape() -> None:
    location = dg.Definitions.merge(defs, dg.Definitions(resources=postgres_resources()))  # as definitions.py will
    graph = location.resolve_asset_graph()
    ml_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "ml"}
    assert ml_keys == {spec.asset_key for spec in ALL_MODELS} | {t.asset_key for t in SCORE_TABLES}
    assert KEY(["ml", "anomaly_detector"]) in ml_keys and KEY(["ml", "pr_rework_risk"]) in ml_keys
    # every model hangs off the dbt feature marts, under the keys the marts translator gives them
    translator = MartsTranslator()
    for spec in MODELS:
        for key in spec.upstream:
            dbt_node = {"resource_type": "model", "name": key.path[-1],
                        "fqn": ["agent_platform", "ml_features", key.path[-1]]}
            assert translator.get_asset_key(dbt_node) == key
            assert key in graph.get(spec.asset_key).parent_keys
    assert graph.get(KEY(["ml", "epic_completion_predictions"])).parent_keys >= {TRAJECTORY.asset_key}
    assert graph.get(ANOMALY.asset_key).parent_keys == {t.asset_key for t in SCORE_TABLES}
    job = location.resolve_job_def("ml_training_job")
    assert {KEY(["ml", "trajectory_model"]), ANOMALY.asset_key} <= set(job.asset_layer.selected_asset_keys)
    assert location.resolve_sensor_def("ml_retraining_sensor").job_name == "ml_training_job"


def test_everything_materializes_and_every_check_passes(trained: dg.ExecuteInProcessResult) -> None:
    assert trained.success
    materialized = {e.asset_key for e in trained.get_asset_materialization_events()}
    assert materialized == {spec.asset_key for spec in ALL_MODELS} | {t.asset_key for t in SCORE_TABLES}
    evaluations = trained.get_asset_check_evaluations()
    assert len(evaluations) == 13
    failed = [(e.asset_key.to_user_string(), e.check_name, e.metadata) for e in evaluations if not e.passed]
    assert not failed


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_model_metadata_explains_the_training(trained: dg.ExecuteInProcessResult, spec) -> None:  # type: ignore[no-untyped-def]
    metadata = materialization_metadata(trained, spec.asset_key)
    assert metadata["project"] == spec.project
    assert metadata["backend"] == "engine"
    assert metadata["deployed"] is True
    assert metadata["deploy_reason"] == "deployed: first model of the project"
    assert isinstance(metadata["model_id"], int)
    assert metadata["training_rows"] > 400  # type: ignore[operator]
    assert metadata["fit_time_seconds"] > 0  # type: ignore[operator]
    expected = ("f1", "precision", "recall", "accuracy", "roc_auc") if spec.task == "classification" else (
        "r2", "mean_absolute_error", "mean_squared_error")
    assert set(expected) <= set(metadata)
    if spec is UNIFIED:
        assert {"r2_total_lead_time_seconds", "r2_story_points", "r2_rework_indicator"} <= set(metadata)


@pytest.mark.parametrize("spec", [TRAJECTORY, COMPLEXITY, REWORK], ids=lambda s: s.name)
def test_quality_bar_90_percent_of_the_simulator_ceiling(trained: dg.ExecuteInProcessResult,
                                                          ml_warehouse: MLWarehouse, spec) -> None:  # type: ignore[no-untyped-def]
    metadata = materialization_metadata(trained, spec.asset_key)
    ceiling = ml_warehouse.ceilings[spec.ceiling_key]
    assert metadata["ceiling"] == pytest.approx(ceiling)
    log.info("%s: test %s %.4f vs ceiling %.4f (%.1f%%)", spec.name, spec.metric, metadata[spec.metric],
             ceiling, 100 * metadata["ceiling_ratio"])  # type: ignore[operator]
    assert metadata[spec.metric] >= QUALITY_BAR * ceiling  # type: ignore[operator]
    assert metadata["ceiling_ratio"] >= QUALITY_BAR  # type: ignore[operator]


def test_score_tables_and_prediction_log(trained: dg.ExecuteInProcessResult, ml_warehouse: MLWarehouse) -> None:
    q = ml_warehouse.query
    open_epics = q("SELECT count(*) FROM ml_features.ml_epic_trajectory_features WHERE needs_scoring")[0][0]
    assert open_epics > 0
    assert q("SELECT count(*), count(*) FILTER (WHERE predicted_completion_at = created_at"
             " + predicted_lead_time_seconds * interval '1 second') FROM ml.epic_completion_predictions")[0] == (
        open_epics, open_epics)
    issues = q("SELECT count(*) FROM ml_features.ml_issue_complexity_features")[0][0]
    assert q("SELECT count(*), min(suggested_story_points), max(suggested_story_points)"
             " FROM ml.story_point_estimates")[0][0] == issues
    open_prs = q("SELECT count(*) FROM staging.stg_engineering__pull_requests WHERE merged_at IS NULL")[0][0]
    risk = dict(q("SELECT risk_level, count(*) FROM ml.pr_rework_risk GROUP BY risk_level"))
    assert sum(risk.values()) == open_prs > 0 and set(risk) <= {"high", "medium", "low"} and "low" in risk
    mislabelled = q("SELECT count(*) FROM ml.pr_rework_risk WHERE risk_level <> CASE"
                    " WHEN rework_probability > 0.7 THEN 'high' WHEN rework_probability > 0.4 THEN 'medium'"
                    " ELSE 'low' END")[0][0]
    assert mislabelled == 0
    assert materialization_metadata(trained, KEY(["ml", "pr_rework_risk"]))["risk_levels"] == {
        level: risk.get(level, 0) for level in ("high", "medium", "low")}
    # every prediction of the run is in the log, with its input features
    logged = dict(q("SELECT model_name, count(*) FROM ml.ml_prediction_log"
                    " WHERE input_features ? 'comment_count' OR input_features ? 'changed_files'"
                    " GROUP BY model_name"))
    assert logged[TRAJECTORY.project] >= open_epics and logged[COMPLEXITY.project] >= issues
    assert logged[REWORK.project] >= open_prs


def test_every_logged_prediction_is_scored_by_the_detector(trained: dg.ExecuteInProcessResult,
                                                          ml_warehouse: MLWarehouse) -> None:
    metadata = materialization_metadata(trained, ANOMALY.asset_key)
    assert metadata["predictions_scored"] == metadata["training_rows"]
    assert metadata["alerts_written"] == metadata["anomalies"]
    # anomalies stay rare on healthy data (the seed's threshold: score < -0.5)
    assert metadata["anomalies"] <= 0.05 * metadata["predictions_scored"]  # type: ignore[operator]
    assert ml_warehouse.query("SELECT count(*) FROM ml.ml_prediction_log WHERE anomaly_score IS NULL")[0][0] == 0


def test_retraining_on_unchanged_data_ties_and_deploys(trained: dg.ExecuteInProcessResult,
                                                      ml_warehouse: MLWarehouse) -> None:
    first = materialization_metadata(trained, TRAJECTORY.asset_key)
    again = dg.materialize([build_model_asset(TRAJECTORY)], resources=ml_warehouse.resources())
    metadata = materialization_metadata(again, TRAJECTORY.asset_key)
    assert metadata["model_id"] != first["model_id"] and metadata["deployed"] is True
    assert metadata["deploy_reason"] == (f"deployed: new r2 {first['r2']:.4f} is not worse than deployed model "
                                         f"{first['model_id']}'s {first['r2']:.4f}")
    assert "ceiling" not in metadata  # no simulator report in PLATFORM_HOME: no comparison
