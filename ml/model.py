"""A trained model as stored in ``pgml.models.artifact``, and the process-level cache.

The artifact is a pickle of the estimator plus everything prediction needs (the fitted
preprocessing, the class labels, the feature order). Unpickling runs code, and the role
that can write ``pgml.models`` is shared (dbt, extraction, archive, the quarantine CLI),
so an artifact is signed when stored (HMAC-SHA256 over the format, the project name and
the bytes, ``artifact_signature``) with a key the caller passes, and verified before it is
unpickled: a missing or wrong signature raises ``ArtifactSignatureError`` and nothing is
loaded. Library versions are recorded and a mismatch is logged on load.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.errors import ArtifactSignatureError, InvalidArgumentError, UnsupportedOperationError
from ml.preprocess import FeaturePipeline

log = logging.getLogger(__name__)

ARTIFACT_FORMAT = "pickle-v1"
MIN_KEY_BYTES = 16
_SIGNATURE_DOMAIN = b"pgml-artifact-v1"


def signing_key_bytes(key: bytes | str) -> bytes:
    """The HMAC key; a key too short to resist guessing is refused."""
    material = key.encode() if isinstance(key, str) else bytes(key)
    if len(material.strip()) < MIN_KEY_BYTES:
        raise InvalidArgumentError(f"the model signing key must have at least {MIN_KEY_BYTES} bytes")
    return material


def sign_artifact(key: bytes, project: str, artifact_format: str, blob: bytes) -> str:
    """Hex HMAC-SHA256 of the artifact, bound to its project and format (a signed artifact
    copied to another project's row does not verify there)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (_SIGNATURE_DOMAIN, project.encode(), artifact_format.encode()):
        mac.update(len(part).to_bytes(4, "big") + part)
    mac.update(blob)
    return mac.hexdigest()


def verify_artifact(
    key: bytes, project: str, model_id: int, artifact_format: str, blob: bytes, signature: str | None
) -> None:
    """``ArtifactSignatureError`` unless ``signature`` is the artifact's; call before unpickling."""
    retrain = ("it was not stored by this platform with this PLATFORM_MODEL_SIGNING_KEY (tampered, or "
               "trained before signing or with another key); retrain the project, it is not loaded")
    if not signature:
        raise ArtifactSignatureError(f"model {model_id} of project `{project}`: the artifact has no signature; {retrain}")
    expected = sign_artifact(key, project, artifact_format, blob)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise ArtifactSignatureError(
            f"model {model_id} of project `{project}`: the artifact signature does not match; {retrain}"
        )


def library_versions() -> dict[str, str]:
    import lightgbm
    import sklearn
    import xgboost

    return {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "xgboost": xgboost.__version__,
        "lightgbm": lightgbm.__version__,
    }


@dataclass
class TrainedModel:
    project: str
    task: str
    algorithm: str
    estimator: Any
    pipeline: FeaturePipeline
    targets: list[str]
    classes: list[Any] = field(default_factory=list)  # classification: label of each class index
    numeric_classes: bool = True
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return self.pipeline.names

    @property
    def joint(self) -> bool:
        return len(self.targets) > 1

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Predictions for an already preprocessed matrix: (n,) or (n, targets) for joint models."""
        if self.task == "anomaly_detection":
            return np.asarray(self.estimator.score_samples(x), dtype=np.float64)
        raw = np.asarray(self.estimator.predict(x))
        if self.task == "classification":
            # pgml.predict returns REAL: numeric and boolean classes come back as their
            # value, text classes as their index in the sorted class list.
            index = raw.astype(np.int64).reshape(-1)
            if self.numeric_classes:
                return np.asarray(self.classes, dtype=np.float64)[index]
            return index.astype(np.float64)
        return raw.astype(np.float64, copy=False)

    def proba_matrix(self, x: np.ndarray) -> np.ndarray:
        if self.task != "classification":
            raise UnsupportedOperationError(
                f"project `{self.project}`: predict_proba needs a classification project, not {self.task}"
            )
        return np.asarray(self.estimator.predict_proba(x), dtype=np.float64)

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)


def loads(
    blob: bytes, artifact_format: str, *, key: bytes, project: str, model_id: int, signature: str | None
) -> TrainedModel:
    """The stored model, after its signature is verified (``ArtifactSignatureError`` otherwise)."""
    if artifact_format != ARTIFACT_FORMAT:
        raise UnsupportedOperationError(f"unknown model artifact format {artifact_format!r}")
    verify_artifact(key, project, model_id, artifact_format, blob, signature)
    model = pickle.loads(blob)  # noqa: S301 - verified above: written by this platform with its key
    current = library_versions()
    drift = {k: (v, current.get(k)) for k, v in model.versions.items() if current.get(k) != v}
    if drift:
        log.warning("model of project %s was trained with other library versions: %s", model.project, drift)
    return model


class ModelCache:
    """Deserialized models by model id: models are immutable once stored, so ids never go stale."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._items: OrderedDict[int, TrainedModel] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many artifacts were unpickled (tests and metrics read it)

    def get(self, model_id: int) -> TrainedModel | None:
        with self._lock:
            model = self._items.get(model_id)
            if model is not None:
                self._items.move_to_end(model_id)
            return model

    def put(self, model_id: int, model: TrainedModel) -> None:
        with self._lock:
            self._items[model_id] = model
            self._items.move_to_end(model_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


MODEL_CACHE = ModelCache()
