"""The ML job: every model, score table and the anomaly detector, with their health checks."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from ml.models.specs import GROUP
from orchestration.lib.executors import parallel_forkserver

ml_training_job = define_asset_job(
    "ml_training_job",
    selection=AssetSelection.groups(GROUP),
    description="Train the PostgresML models on the ML feature marts (automatic deploy), write the score "
    "tables and the prediction log, then retrain the anomaly detector and alert on anomalous predictions. "
    "Run after the marts.",
    executor_def=parallel_forkserver,  # five models train in parallel, each CPU-bound
)
