"""PostgresML models in the graph (seed 003, Phases 3-5): models, score tables, health, retraining.

Resources: ``warehouse_db`` (catalog, views, score tables, prediction log) and
``replica_db`` (training and scoring reads), from ``orchestration.resources``.
"""

from dagster import Definitions

from orchestration.defs.ml.assets import ml_assets
from orchestration.defs.ml.checks import ml_checks
from orchestration.defs.ml.jobs import ml_training_job
from orchestration.defs.ml.sensors import ml_retraining_sensor

defs = Definitions(
    assets=ml_assets,
    asset_checks=ml_checks,
    jobs=[ml_training_job],
    sensors=[ml_retraining_sensor],
)
