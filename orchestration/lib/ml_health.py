"""The ML health report (seed 003, ``/health/ml``), shared by the asset check and ``platform ml health``:
the engine's version and a tiny train/predict round trip on the ML session (the replica), where the
reads went, and the replica's lag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from foundation.replica import replica_lag
from foundation.settings import mask_dsn
from orchestration.lib.resources import PostgresResource, postgresml

if TYPE_CHECKING:
    from dagster import AssetCheckExecutionContext


def ml_health(warehouse_db: PostgresResource, replica_db: PostgresResource,
              context: AssetCheckExecutionContext | None = None) -> dict[str, Any]:
    """One report; ``healthy`` is true when the round trip predicted the expected value on the replica."""
    from ml.engine_health import EXPECTED_Y, check_engine  # the ML libraries load where they are used

    with postgresml(warehouse_db, replica_db, context) as ml:
        health = check_engine(ml)
        assert ml.reads is not None
        route = ml.reads.route
    report: dict[str, Any] = {
        "healthy": health.healthy,
        "backend": health.backend,
        "version": health.version,
        "prediction": health.prediction,
        "expected": EXPECTED_Y,
        "round_trip_seconds": round(health.round_trip_seconds, 3),
        "reads_served_by": route.server,
        "reads_dsn": mask_dsn(route.dsn),
    }
    if health.error:
        report["error"] = health.error
    if route.warning:
        report["replica_failover"] = route.warning
    try:
        report.update({f"replica_{k}": v for k, v in replica_lag(route.dsn, warehouse_db.dsn).items()})
    except Exception as exc:  # noqa: BLE001 - the report says why the lag is unknown
        report["replica_lag_error"] = str(exc).strip()
    return report
