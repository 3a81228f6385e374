"""Health checks on good and degraded models, anomaly alerts, and the retraining sensor."""

from __future__ import annotations

import dataclasses
import json

import dagster as dg
import psycopg
import pytest

from foundation.settings import now as platform_now
from ml import log_predictions
from ml.models.predictions import EPIC_COMPLETION
from ml.models.specs import ANOMALY, REWORK, TRAJECTORY
from orchestration.defs.ml.assets import anomaly_detector, build_model_asset
from orchestration.defs.ml.checks import build_drift_check, build_model_checks
from orchestration.defs.ml.sensors import ml_retraining_sensor
from tests.ml_assets.conftest import MLWarehouse, materialization_metadata

# Labels that ignore every feature: what a model trained on broken data looks like.
DEGRADED_REWORK = dataclasses.replace(
    REWORK,
    name="rework_degraded",
    project="pr_rework_classifier_degraded",
    asset_name="rework_degraded_model",
    training_sql=REWORK.training_sql.replace(
        "    rework_indicator\nFROM", "    (pull_request_id % 3 = 0) AS rework_indicator\nFROM"),
)


def test_health_checks_fail_on_a_degraded_model(ml_warehouse: MLWarehouse) -> None:
    result = dg.materialize([build_model_asset(DEGRADED_REWORK), *build_model_checks(DEGRADED_REWORK)],
                            resources=ml_warehouse.resources(), raise_on_error=False)
    assert not result.success  # metric_above_floor is blocking
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    floor = evaluations["metric_above_floor"]
    assert not floor.passed
    assert floor.metadata["f1"].value < floor.metadata["floor"].value == REWORK.metric_floor  # type: ignore[operator]
    assert evaluations["predicts_on_sample"].passed  # it is wrong, not broken


def test_drift_check_and_anomaly_alerts_on_degraded_predictions(trained: dg.ExecuteInProcessResult,
                                                               ml_warehouse: MLWarehouse) -> None:
    typical = materialization_metadata(trained, dg.AssetKey(EPIC_COMPLETION.asset_path))["mean_predicted_lead_time_days"]
    seconds = float(typical) * 86400  # type: ignore[arg-type]
    shifted, wild = [3 * seconds] * 10, [60 * seconds] * 2
    with psycopg.connect(ml_warehouse.dsn, autocommit=True) as conn:
        log_predictions(conn, TRAJECTORY.project, shifted + wild, [{"comment_count": 1}] * 12, 1,
                        logged_at=platform_now())
    drift_check = build_drift_check(EPIC_COMPLETION)
    drift = drift_check(**ml_warehouse.resources())
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert drift.metadata["psi"].value > drift.metadata["psi_bound"].value  # type: ignore[operator]
    assert drift.metadata["recent_rows"].value == 12

    detected = dg.materialize([anomaly_detector], resources=ml_warehouse.resources())
    metadata = materialization_metadata(detected, anomaly_detector.key)
    assert metadata["predictions_scored"] == 12
    alerts = ml_warehouse.query(
        "SELECT alerts.severity, alerts.alert_data FROM ml.ml_anomaly_alerts AS alerts"
        " WHERE alerts.model_name = %s AND (alerts.alert_data ->> 'prediction_value')::float8 = %s",
        (TRAJECTORY.project, wild[0]),
    )
    assert len(alerts) == 2
    for severity, data in alerts:
        assert severity in ("high", "medium")
        assert data["severity"] == severity and data["anomaly_score"] < -0.5
        assert data["recommended_action"].startswith(("Immediate investigation", "Monitor closely"))
        assert data["detector_project"] == ANOMALY.project
    flagged = ml_warehouse.query("SELECT count(*) FROM ml.ml_prediction_log WHERE is_anomaly AND prediction_value = %s",
                                 (wild[0],))[0][0]
    assert flagged == 2


def _evaluate(ml_warehouse: MLWarehouse, instance: dg.DagsterInstance, cursor: str | None = None
              ) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"replica_db": ml_warehouse.resources()["replica_db"]})
    return ml_retraining_sensor(context)  # type: ignore[return-value]


@pytest.fixture
def backdated(ml_warehouse: MLWarehouse):  # type: ignore[no-untyped-def]
    """Every trajectory model trained 31 days earlier than it was; undone afterwards."""
    statement = ("UPDATE pgml.models SET created_at = created_at {} interval '31 days'"
                 " WHERE project_id = (SELECT id FROM pgml.projects WHERE name = %s)")
    ml_warehouse.query(statement.format("-"), (TRAJECTORY.project,))
    yield
    ml_warehouse.query(statement.format("+"), (TRAJECTORY.project,))


@pytest.fixture
def fewer_rework_rows(ml_warehouse: MLWarehouse):  # type: ignore[no-untyped-def]
    """The last rework model as if trained on 60 rows fewer than its view holds now; undone afterwards."""
    statement = ("UPDATE pgml.snapshots SET analysis = jsonb_set(analysis, '{samples}',"
                 " to_jsonb((analysis ->> 'samples')::bigint + %s))"
                 " WHERE id = (SELECT models.snapshot_id FROM pgml.models JOIN pgml.projects"
                 " ON projects.id = models.project_id WHERE projects.name = %s ORDER BY models.id DESC LIMIT 1)")
    ml_warehouse.query(statement, (-60, REWORK.project))
    yield
    ml_warehouse.query(statement, (60, REWORK.project))


@pytest.mark.calendar
def test_sensor_skips_fresh_models_with_reasons(trained: dg.ExecuteInProcessResult, ml_warehouse: MLWarehouse,
                                                instance: dg.DagsterInstance) -> None:
    result = _evaluate(ml_warehouse, instance)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == (
        "trajectory: 0 new records < 100, trained 0 days ago < 30; "
        "complexity: 0 new records < 200, trained 0 days ago < 14; "
        "rework: 0 new records < 50, trained 0 days ago < 21; "
        "churn: 0 new records < 5000, trained 0 days ago < 14"
    )


@pytest.mark.calendar
def test_sensor_requests_only_the_stale_model(trained: dg.ExecuteInProcessResult, ml_warehouse: MLWarehouse,
                                              instance: dg.DagsterInstance, backdated: None) -> None:
    result = _evaluate(ml_warehouse, instance)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests or []
    assert request.asset_selection == [dg.AssetKey(TRAJECTORY.asset_path)]
    latest = ml_warehouse.query("SELECT max(models.id) FROM pgml.models JOIN pgml.projects"
                                " ON projects.id = models.project_id WHERE projects.name = %s",
                                (TRAJECTORY.project,))[0][0]
    assert request.run_key == f"ml-retrain:trajectory@{latest}"
    assert "trajectory: 0 new records < 100, trained 31 days ago ≥ 30" in request.tags["ml/retrain_reason"]
    assert json.loads(result.cursor or "")["requested"] == {"trajectory": f"trajectory@{latest}"}

    again = _evaluate(ml_warehouse, instance, result.cursor)
    assert isinstance(again, dg.SkipReason)
    assert "trained 31 days ago ≥ 30 (retraining already requested)" in (again.skip_message or "")


@pytest.mark.calendar
def test_sensor_requests_a_model_whose_training_data_grew(trained: dg.ExecuteInProcessResult,
                                                          ml_warehouse: MLWarehouse, instance: dg.DagsterInstance,
                                                          fewer_rework_rows: None) -> None:
    result = _evaluate(ml_warehouse, instance)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests or []
    assert request.asset_selection == [dg.AssetKey(REWORK.asset_path)]
    assert request.tags["ml/retrain_reason"] == "rework: 60 new records ≥ 50, trained 0 days ago < 21"
