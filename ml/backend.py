"""The PostgresML API both backends answer (the ``pgml`` extension and the engine), defined once.

``TrainRequest`` holds ``pgml.train``'s arguments with upstream's defaults. ``PostgresML.train``
accepts exactly its fields (its signature is derived from the dataclass, so type checkers see
every argument), and each backend receives one request: the signature is written here only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class TrainRequest:
    """``pgml.train(project_name, task, relation_name, y_column_name, algorithm, hyperparams, test_size,
    test_sampling, automatic_deploy, preprocess)``, plus the seeds' ``filter`` and a seed for the split."""

    project_name: str
    task: str | None = None
    relation_name: str | None = None
    y_column_name: str | Sequence[str] | None = None
    algorithm: str = "linear"
    hyperparams: Mapping[str, Any] | None = None
    test_size: float = 0.25
    test_sampling: str = "stratified"
    automatic_deploy: bool = True
    preprocess: Mapping[str, Any] | None = None
    filter: str | None = None
    random_state: int = 0


@dataclass(frozen=True)
class TrainResult:
    """``pgml.train``'s row; unpacks as (project, task, algorithm, deployed)."""

    project: str
    task: str
    algorithm: str
    deployed: bool
    model_id: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.project, self.task, self.algorithm, self.deployed))


@dataclass(frozen=True)
class DeployResult:
    """``pgml.deploy``'s row; unpacks as (project, strategy, algorithm)."""

    project: str
    strategy: str
    algorithm: str
    model_id: int | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.project, self.strategy, self.algorithm))


class Backend(Protocol):
    """What ``PostgresML`` delegates to: ``ml.engine.Engine`` or ``ml.extension.ExtensionBackend``."""

    def train(self, request: TrainRequest) -> TrainResult: ...

    def deploy(self, project_name: str, strategy: str, algorithm: str | None = None) -> DeployResult: ...

    def predict(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> float: ...

    def predict_proba(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]: ...

    def predict_joint(self, project_name: str, features: Sequence[Any] | Mapping[str, Any]) -> list[float]: ...

    def predict_batch(self, project_name: str, rows: Any = None, *, relation: str | None = None,
                      where: str | None = None, proba: bool = False) -> np.ndarray: ...

    def metrics(self, project_name: str) -> dict[str, Any]: ...

    def models(self, project_name: str) -> list[dict[str, Any]]: ...

    def deployed_models(self) -> list[dict[str, Any]]: ...

    def version(self) -> str: ...


def arguments_of(request_type: Callable[P, T]) -> Callable[[Callable[[S, T], R]], Callable[Concatenate[S, P], R]]:
    """Give a method that takes one request object the request's own signature."""

    def decorate(method: Callable[[S, T], R]) -> Callable[Concatenate[S, P], R]:
        @functools.wraps(method)
        def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            return method(self, request_type(*args, **kwargs))

        parameters = list(inspect.signature(request_type).parameters.values())
        self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [self_parameter, *parameters], return_annotation=inspect.signature(method).return_annotation)
        return call

    return decorate
