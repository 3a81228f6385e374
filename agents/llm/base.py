"""The provider interface: ``complete_json`` returns a validated pydantic object plus its cost."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)

# llm_usage.status values written by the providers.
STATUS_OK = "ok"
STATUS_FALLBACK = "fallback"  # template output used because the LLM path failed
STATUS_INVALID_OUTPUT = "invalid_output"  # tool input failed validation / unsafe SQL; retried
# API failures are written as "error:<api error type>" (e.g. error:overloaded_error) or "error:connection".

TEMPLATE_PROVIDER = "offline-template"
TEMPLATE_MODEL = "templates-v1"


class LLMError(RuntimeError):
    """No provider could produce a valid answer."""


class LLMConfigurationError(LLMError):
    pass


@dataclass(frozen=True)
class UsageRecord:
    """One row of the app database's ``llm_usage`` table (one API attempt or template call)."""

    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    agent_name: str
    request_id: int | None
    status: str


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    """The validated output and what it cost; token counts sum every attempt of the call."""

    output: T
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    fallback: bool = False
    fallback_reason: str | None = None
    attempts: tuple[UsageRecord, ...] = field(default_factory=tuple)

    @property
    def is_template(self) -> bool:
        return self.provider == TEMPLATE_PROVIDER

    def metadata(self) -> dict[str, Any]:
        """Run-metadata view (Dagster, provisioning_requests.result): labels template output clearly."""
        return {
            "provider": self.provider,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms,
            "template_fallback": self.fallback,
            "fallback_reason": self.fallback_reason,
            "attempts": len(self.attempts),
        }


OutputCheck = Callable[[BaseModel], None]


class LLMProvider(Protocol):
    name: str

    def complete_json(
        self,
        *,
        agent: str,
        system: str,
        prompt: str,
        output_model: type[T],
        request_id: int | None = None,
        context: Mapping[str, Any] | None = None,
        validate: OutputCheck | None = None,
    ) -> LLMResult[T]:
        """Structured output for one agent step.

        ``context`` carries facts the offline templates need (domain, business_name,
        dataset, products); ``validate`` is an extra check raising ``ValueError`` whose
        message is fed back to the model on retry.
        """
        ...


def estimate_tokens(text: str) -> int:
    """The usual ~4 characters per token, for the template provider's cost rows."""
    return max(1, math.ceil(len(text) / 4))
