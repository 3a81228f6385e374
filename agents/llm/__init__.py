"""LLM providers behind one interface: ``provider.complete_json(...) -> LLMResult``.

``get_provider()`` returns the Anthropic provider when ``ANTHROPIC_API_KEY`` is set and
the offline template provider otherwise; both write every call to ``llm_usage``.
"""

from __future__ import annotations

import os

import httpx2

from agents.llm.anthropic_provider import AnthropicProvider, tool_name_for
from agents.llm.base import (
    STATUS_FALLBACK,
    STATUS_INVALID_OUTPUT,
    STATUS_OK,
    TEMPLATE_MODEL,
    TEMPLATE_PROVIDER,
    LLMConfigurationError,
    LLMError,
    LLMProvider,
    LLMResult,
    UsageRecord,
    estimate_tokens,
)
from agents.llm.template_provider import TemplateProvider, TemplateUnavailableError
from agents.llm.usage import UsageRecorder

__all__ = [
    "STATUS_FALLBACK",
    "STATUS_INVALID_OUTPUT",
    "STATUS_OK",
    "TEMPLATE_MODEL",
    "TEMPLATE_PROVIDER",
    "AnthropicProvider",
    "LLMConfigurationError",
    "LLMError",
    "LLMProvider",
    "LLMResult",
    "TemplateProvider",
    "TemplateUnavailableError",
    "UsageRecord",
    "UsageRecorder",
    "estimate_tokens",
    "get_provider",
    "tool_name_for",
]


def get_provider(
    *,
    recorder: UsageRecorder | None = None,
    model: str | None = None,
    http_client: httpx2.Client | None = None,
) -> LLMProvider:
    """Anthropic when ``ANTHROPIC_API_KEY`` is set, else the offline templates (same recorder)."""
    recorder = recorder if recorder is not None else UsageRecorder()
    templates = TemplateProvider(recorder)
    if os.environ.get("ANTHROPIC_API_KEY"):
        return AnthropicProvider(model=model, recorder=recorder, fallback=templates, http_client=http_client)
    return templates
