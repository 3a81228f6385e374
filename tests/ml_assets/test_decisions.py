"""The pure decisions of the ML package: risk levels, story points, deploy reasons, drift, staleness."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pytest

from ml.models.health import PSI_BOUND, measure_drift, population_stability_index
from ml.models.predictions import nearest_story_points, risk_level
from ml.models.retraining import ModelState, assess
from ml.models.specs import ALL_MODELS, ANOMALY, COMPLEXITY, REWORK, TRAJECTORY
from ml.models.training import DeployedModel, deploy_reason, load_ceilings
from orchestration.defs.ml.sensors import retraining_requests


@pytest.mark.parametrize(
    ("probability", "level"),
    [(0.95, "high"), (0.7001, "high"), (0.7, "medium"), (0.41, "medium"), (0.4, "low"), (0.0, "low")],
)
def test_risk_levels_follow_the_seed(probability: float, level: str) -> None:
    assert risk_level(probability) == level


def test_story_points_snap_to_the_planning_scale() -> None:
    estimates = np.array([0.2, 1.4, 1.6, 2.6, 4.2, 6.6, 10.6, 16.9, 17.1, 40.0])
    assert nearest_story_points(estimates).tolist() == [1, 1, 2, 3, 5, 8, 13, 13, 21, 21]


def test_deploy_reasons_say_why() -> None:
    assert deploy_reason(TRAJECTORY, True, {"r2": 0.8}, None) == "deployed: first model of the project"
    previous = DeployedModel(12, {"r2": 0.85})
    assert deploy_reason(TRAJECTORY, True, {"r2": 0.85}, previous) == (
        "deployed: new r2 0.8500 is not worse than deployed model 12's 0.8500")
    assert deploy_reason(TRAJECTORY, False, {"r2": 0.5}, previous) == (
        "kept model 12: its r2 0.8500 is better than the new model's 0.5000")
    assert "unlabelled detector" in deploy_reason(ANOMALY, True, {}, DeployedModel(3, {}))


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 5000)
    assert population_stability_index(reference, reference, 10) == pytest.approx(0.0)
    assert measure_drift(reference, rng.normal(0, 1, 400)).within_bounds
    shifted = measure_drift(reference, rng.normal(1.5, 1, 400))
    assert shifted.psi > PSI_BOUND and shifted.mean_shift > 1 and not shifted.within_bounds


def test_staleness_reasons_name_both_thresholds() -> None:
    fresh = assess(TRAJECTORY, ModelState(True, 7, age_days=3.2, trained_rows=400, current_rows=412))
    assert not fresh.stale
    assert fresh.reason == "trajectory: 12 new records < 100, trained 3 days ago < 30"
    old = assess(COMPLEXITY, ModelState(True, 8, age_days=14.0, trained_rows=2600, current_rows=2600))
    assert old.stale and old.reason == "complexity: 0 new records < 200, trained 14 days ago ≥ 14"
    grown = assess(REWORK, ModelState(True, 9, age_days=1.0, trained_rows=3000, current_rows=3050))
    assert grown.stale and grown.reason.startswith("rework: 50 new records ≥ 50")
    assert assess(REWORK, ModelState(True, current_rows=10)).stale  # never trained
    assert not assess(REWORK, ModelState(False)).stale
    assert assess(REWORK, ModelState(False)).reason == "rework: feature marts not built yet"


def test_requests_only_stale_models_once_per_training() -> None:
    fresh = assess(TRAJECTORY, ModelState(True, 7, age_days=1, trained_rows=10, current_rows=10))
    stale = assess(REWORK, ModelState(True, 9, age_days=30, trained_rows=10, current_rows=10))
    result = retraining_requests([fresh, stale], None)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests or []
    assert request.asset_selection == [dg.AssetKey(REWORK.asset_path)]
    assert request.run_key == "ml-retrain:rework@9"
    assert json.loads(result.cursor or "")["requested"] == {"rework": "rework@9"}
    again = retraining_requests([fresh, stale], result.cursor)
    assert isinstance(again, dg.SkipReason)
    assert "rework: 0 new records < 50, trained 30 days ago ≥ 21 (retraining already requested)" in (again.skip_message or "")


def test_training_views_select_features_then_targets() -> None:
    for spec in ALL_MODELS:
        select_list = spec.training_sql.split("FROM")[0]
        columns = [part.strip().split(".")[-1] for part in select_list.replace("SELECT", "").split(",")]
        assert columns == [*spec.features, *spec.targets], spec.name


def test_ceilings_only_when_a_report_exists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_ceilings(str(tmp_path / "missing.json")) == {}
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"ceilings": {"trajectory_r2": 0.9, "odd": "n/a"}}))
    assert load_ceilings(str(report)) == {"trajectory_r2": 0.9}
