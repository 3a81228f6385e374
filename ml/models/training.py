"""Training one model through PostgresML and explaining the outcome in asset metadata."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.settings import load_settings
from ml.models.specs import ModelSpec
from ml.models.warehouse import count_rows, ensure_training_view

if TYPE_CHECKING:
    from ml import PostgresML

log = logging.getLogger(__name__)

# Metrics shown as numbers in the asset's metadata, per task (all are in `metrics` too).
SHOWN_METRICS = {
    "regression": ("r2", "mean_absolute_error", "mean_squared_error"),
    "classification": ("f1", "precision", "recall", "accuracy", "roc_auc"),
    "anomaly_detection": ("anomaly_rate", "mean_score"),
}
SIMULATOR_REPORT = "simulator_report.json"  # written by `platform simulate` into PLATFORM_HOME


class TrainingDataMissing(RuntimeError):
    """The training view selects no rows: the feature mart is empty or not built."""


@dataclass(frozen=True)
class DeployedModel:
    model_id: int
    metrics: dict[str, Any]


@dataclass(frozen=True)
class TrainingOutcome:
    spec: ModelSpec
    backend: str
    model_id: int | None
    deployed: bool
    deploy_reason: str
    metrics: dict[str, Any]
    training_rows: int
    previous: DeployedModel | None = None
    ceiling: float | None = None

    @property
    def score(self) -> float | None:
        return finite_number(self.metrics.get(self.spec.metric)) if self.spec.metric else None

    @property
    def ceiling_ratio(self) -> float | None:
        if self.score is None or not self.ceiling:
            return None
        return self.score / self.ceiling

    def metadata(self) -> dict[str, Any]:
        shown = {
            key: (value)
            for key in SHOWN_METRICS[self.spec.task]
            if (value := finite_number(self.metrics.get(key))) is not None
        }
        for target, value in (self.metrics.get("r2_per_target") or {}).items():
            if (number := finite_number(value)) is not None:
                shown[f"r2_{target}"] = (number)
        metadata: dict[str, Any] = {
            "project": (self.spec.project),
            "model_id": self.model_id,
            "algorithm": (self.spec.algorithm),
            "backend": (self.backend),
            "deployed": (self.deployed),
            "deploy_reason": (self.deploy_reason),
            "training_view": (self.spec.training_view),
            "training_rows": (self.training_rows),
            "fit_time_seconds": (finite_number(self.metrics.get("fit_time")) or 0.0),
            **shown,
            "metrics": (_json_safe(self.metrics)),
            "hyperparams": (dict(self.spec.hyperparams)),
        }
        if self.spec.ceiling_key:
            metadata["ceiling_metric"] = (f"{self.spec.metric} vs simulator {self.spec.ceiling_key}")
            if self.ceiling is not None:
                metadata["ceiling"] = (self.ceiling)
            if self.ceiling_ratio is not None:
                metadata["ceiling_ratio"] = (self.ceiling_ratio)
        return metadata


def finite_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def deployed_model(ml: PostgresML, project: str) -> DeployedModel | None:
    for row in ml.deployed_models():
        if row["name"] == project:
            return DeployedModel(int(row["model_id"]), dict(row.get("metrics") or {}))
    return None


def deploy_reason(spec: ModelSpec, deployed: bool, new_metrics: dict[str, Any], previous: DeployedModel | None) -> str:
    """Why automatic deploy did or did not promote the new model (upstream's comparison)."""
    if previous is None:
        return "deployed: first model of the project"
    if spec.metric is None:
        return (f"deployed: an unlabelled detector has no test score, so the most recent model replaces "
                f"model {previous.model_id}")
    from ml.metrics import default_metric  # scikit-learn loads with the metrics, in training runs only

    metric = default_metric(spec.task)  # what automatic deploy compares, whatever the spec reports
    new, old = finite_number(new_metrics.get(metric)), finite_number(previous.metrics.get(metric))
    if deployed:
        if old is None:
            return f"deployed: model {previous.model_id} has no {metric} to compare with"
        return (f"deployed: new {metric} {'undefined' if new is None else f'{new:.4f}'} is not worse than "
                f"deployed model {previous.model_id}'s {old:.4f}")
    return (f"kept model {previous.model_id}: its {metric} {old:.4f} is better than the new model's "
            f"{'undefined' if new is None else f'{new:.4f}'}")


def load_ceilings(report_path: str | None = None) -> dict[str, float]:
    """The simulator's ceilings (best achievable metrics) when a report exists, else {}."""
    path = Path(report_path) if report_path else load_settings().home / SIMULATOR_REPORT
    if not path.is_file():
        return {}
    try:
        ceilings = json.loads(path.read_text()).get("ceilings") or {}
    except (OSError, ValueError) as exc:
        log.warning("unreadable simulator report %s: %s", path, exc)
        return {}
    return {key: float(value) for key, value in ceilings.items() if finite_number(value) is not None}


def latest_model_id(ml: PostgresML, project: str) -> int | None:
    models = ml.models(project)
    return int(models[-1]["id"]) if models else None


def train_model(ml: PostgresML, spec: ModelSpec, ceilings: dict[str, float] | None = None) -> TrainingOutcome:
    """(Re)create the training view, train with automatic deploy, and say what happened."""
    ensure_training_view(ml.conn, spec)
    rows = count_rows(ml.conn, spec.training_sql)
    if rows == 0:
        raise TrainingDataMissing(
            f"{spec.training_view} selects no rows: build the feature marts "
            f"({', '.join('/'.join(k) for k in spec.upstream) or 'the prediction log'}) first"
        )
    previous = deployed_model(ml, spec.project)
    result = ml.train(
        spec.project,
        spec.task,
        spec.training_view,
        spec.y_column_name,
        algorithm=spec.algorithm,
        hyperparams=dict(spec.hyperparams),
        test_size=spec.test_size,
        test_sampling=spec.test_sampling,
        preprocess=dict(spec.preprocess),
    )
    model_id = result.model_id if result.model_id is not None else latest_model_id(ml, spec.project)
    reason = deploy_reason(spec, result.deployed, result.metrics, previous)
    ceiling = (ceilings or {}).get(spec.ceiling_key) if spec.ceiling_key else None
    outcome = TrainingOutcome(spec, ml.backend, model_id, result.deployed, reason, dict(result.metrics), rows,
                              previous, ceiling)
    log.info("%s: model %s on %d rows, %s %s; %s", spec.project, model_id, rows, spec.metric or "no metric",
             "" if outcome.score is None else f"{outcome.score:.4f}", reason)
    return outcome
