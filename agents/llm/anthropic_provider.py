"""The Anthropic provider: structured output through a single forced tool.

The tool's ``input_schema`` is the output model's JSON schema and ``tool_choice`` forces
the model to call it, so the answer arrives as JSON. The SDK retries transport-level
failures itself (408/409/429/5xx including 529, ``max_retries``); this provider retries
*content* failures (tool input that fails pydantic validation, or SQL that is not a
read-only query) with the error fed back, a bounded number of times, and then falls back
to the template provider. Every HTTP attempt writes one ``llm_usage`` row: failed
attempts from the SDK middleware (which runs once per attempt, inside the SDK's retry
loop), answered attempts from here.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import anthropic
import httpx2
from anthropic.types import MessageParam, ToolParam
from pydantic import BaseModel, ValidationError

from agents.guards.sql import UnsafeSQLError, check_read_only
from agents.llm.base import (
    STATUS_FALLBACK,
    STATUS_INVALID_OUTPUT,
    STATUS_OK,
    LLMConfigurationError,
    LLMError,
    LLMResult,
    OutputCheck,
    T,
    UsageRecord,
)
from agents.llm.template_provider import TemplateProvider
from agents.llm.usage import UsageRecorder
from agents.schemas import sql_fields

log = logging.getLogger(__name__)

PROVIDER_NAME = "anthropic"
_MAX_FEEDBACK_ERRORS = 15


class OutputRejected(ValueError):
    """The model answered, but not with a usable tool call."""


@dataclass
class _CallState:
    agent: str
    request_id: int | None
    model: str
    recorder: UsageRecorder
    records: list[UsageRecord] = field(default_factory=list)
    last_latency_ms: int = 0

    def record(self, status: str, latency_ms: int, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        record = UsageRecord(
            provider=PROVIDER_NAME,
            model=self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            agent_name=self.agent,
            request_id=self.request_id,
            status=status,
        )
        self.records.append(record)
        self.recorder.record(record)


_CURRENT_CALL: contextvars.ContextVar[_CallState | None] = contextvars.ContextVar("llm_call", default=None)


def _error_type(response: Any) -> str:
    try:
        body = response.http_response.json()
        return str(body["error"]["type"])
    except Exception:  # noqa: BLE001 - any unreadable error body falls back to the status code
        return f"http_{response.status_code}"


def _record_attempt(request: Any, call_next: Any) -> Any:
    """SDK middleware: runs once per HTTP attempt, so SDK-level retries are recorded too."""
    state = _CURRENT_CALL.get()
    started = time.perf_counter()
    try:
        response = call_next(request)
    except Exception as error:
        if state is not None:
            kind = "timeout" if isinstance(error, anthropic.APITimeoutError) else "connection"
            state.record(f"error:{kind}", int((time.perf_counter() - started) * 1000))
        raise
    latency_ms = int((time.perf_counter() - started) * 1000)
    if state is not None:
        if response.status_code >= 400:
            state.record(f"error:{_error_type(response)}", latency_ms)
        else:
            state.last_latency_ms = latency_ms
    return response


def tool_name_for(model: type[BaseModel]) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()
    return f"emit_{snake}"[:64]


def _format_feedback(error: Exception, tool_name: str) -> str:
    if isinstance(error, ValidationError):
        lines = []
        for item in error.errors()[:_MAX_FEEDBACK_ERRORS]:
            location = ".".join(str(p) for p in item["loc"]) or "(root)"
            lines.append(f"- {location}: {item['msg']}")
        details = "\n".join(lines)
        problem = f"The tool input failed validation ({error.error_count()} errors):\n{details}"
    elif isinstance(error, UnsafeSQLError):
        problem = f"The SQL was refused by the SQL guard: {error.reason}. Only one read-only SELECT is allowed."
    else:
        problem = f"The answer was rejected: {error}"
    return f"{problem}\nCall the tool `{tool_name}` again with corrected input that matches its schema."


def _assistant_turn(message: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "tool_use":
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
        elif block.type == "text" and block.text:
            blocks.append({"type": "text", "text": block.text})
    return blocks


class AnthropicProvider:
    """``complete_json`` over the Anthropic Messages API, with validation retries and template fallback."""

    name = PROVIDER_NAME

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: str | None = None,
        recorder: UsageRecorder | None = None,
        fallback: TemplateProvider | None = None,
        http_client: httpx2.Client | None = None,
        max_retries: int = 2,
        max_output_retries: int = 2,
        max_tokens: int = 4096,
        timeout: float = 120.0,
        base_url: str | None = None,
        sql_dialect: str = "bigquery",
    ) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise LLMConfigurationError("ANTHROPIC_API_KEY is not set")
        if model is None:
            from foundation.settings import load_settings

            model = load_settings().anthropic_model
        self.model = model
        self.recorder = recorder if recorder is not None else UsageRecorder()
        self.fallback = fallback if fallback is not None else TemplateProvider(self.recorder)
        self.max_output_retries = max_output_retries
        self.max_tokens = max_tokens
        self.sql_dialect = sql_dialect
        # The key goes to the SDK only; it is never stored on this object or logged.
        self._client = anthropic.Anthropic(
            api_key=key,
            max_retries=max_retries,
            http_client=http_client,
            timeout=timeout,
            base_url=base_url,
            middleware=[_record_attempt],
        )

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r})"

    def _check(self, output: BaseModel, validate: OutputCheck | None) -> None:
        for path, sql in sql_fields(output):
            try:
                check_read_only(sql, self.sql_dialect)
            except UnsafeSQLError as error:
                raise UnsafeSQLError(f"{path}: {error.reason}", sql) from None
        if validate is not None:
            validate(output)

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
        started = time.perf_counter()
        state = _CallState(agent=agent, request_id=request_id, model=self.model, recorder=self.recorder)
        token = _CURRENT_CALL.set(state)
        tool_name = tool_name_for(output_model)
        tool: ToolParam = {
            "name": tool_name,
            "description": f"Return the {output_model.__name__} as structured data. "
            + (output_model.__doc__ or "").strip()[:500],
            "input_schema": output_model.model_json_schema(),
        }
        # Plain dicts: the turns mix SDK content blocks and tool results (the SDK's TypedDicts
        # cannot tell a user turn from an assistant one when built incrementally).
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        reason = "no attempt made"
        try:
            for attempt in range(self.max_output_retries + 1):
                try:
                    message = self._client.messages.create(
                        model=self.model,
                        max_tokens=self.max_tokens,
                        system=system,
                        messages=cast(list[MessageParam], messages),
                        tools=[tool],
                        tool_choice={"type": "tool", "name": tool_name},
                    )
                except (anthropic.APIStatusError, anthropic.APIConnectionError) as error:
                    # Already recorded per attempt by the middleware, SDK retries included.
                    reason = f"{type(error).__name__} after SDK retries"
                    log.warning("anthropic call for %s failed: %s", agent, reason)
                    break
                except anthropic.AnthropicError as error:
                    state.record("error:client", state.last_latency_ms)
                    reason = f"{type(error).__name__}"
                    log.warning("anthropic call for %s failed: %s", agent, reason)
                    break
                usage = message.usage
                prompt_tokens = int(getattr(usage, "input_tokens", 0) or 0)
                completion_tokens = int(getattr(usage, "output_tokens", 0) or 0)
                block = next(
                    (b for b in message.content if b.type == "tool_use" and b.name == tool_name), None
                )
                try:
                    if block is None:
                        raise OutputRejected(f"the answer did not call the tool {tool_name}")
                    raw = block.input
                    if isinstance(raw, str):
                        try:
                            raw = json.loads(raw)
                        except json.JSONDecodeError as error:
                            raise OutputRejected(f"the tool input is not JSON: {error}") from None
                    output = output_model.model_validate(raw)
                    self._check(output, validate)
                except (ValidationError, ValueError) as error:
                    state.record(STATUS_INVALID_OUTPUT, state.last_latency_ms, prompt_tokens, completion_tokens)
                    feedback = _format_feedback(error, tool_name)
                    reason = feedback.splitlines()[0]
                    log.info("invalid %s output from %s (attempt %d): %s", output_model.__name__, agent, attempt + 1, reason)
                    messages.append({"role": "assistant", "content": _assistant_turn(message)})
                    if block is not None:
                        result_block = {"type": "tool_result", "tool_use_id": block.id, "is_error": True, "content": feedback}
                        messages.append({"role": "user", "content": [result_block]})
                    else:
                        messages.append({"role": "user", "content": feedback})
                    continue
                state.record(STATUS_OK, state.last_latency_ms, prompt_tokens, completion_tokens)
                return self._result(output, state, started)
        finally:
            _CURRENT_CALL.reset(token)
        return self._fall_back(
            agent=agent,
            system=system,
            prompt=prompt,
            output_model=output_model,
            request_id=request_id,
            context=context,
            validate=validate,
            state=state,
            started=started,
            reason=reason,
        )

    def _result(self, output: T, state: _CallState, started: float) -> LLMResult[T]:
        return LLMResult(
            output=output,
            provider=self.name,
            model=self.model,
            prompt_tokens=sum(r.prompt_tokens for r in state.records),
            completion_tokens=sum(r.completion_tokens for r in state.records),
            latency_ms=int((time.perf_counter() - started) * 1000),
            attempts=tuple(state.records),
        )

    def _fall_back(
        self,
        *,
        agent: str,
        system: str,
        prompt: str,
        output_model: type[T],
        request_id: int | None,
        context: Mapping[str, Any] | None,
        validate: OutputCheck | None,
        state: _CallState,
        started: float,
        reason: str,
    ) -> LLMResult[T]:
        log.warning("falling back to templates for %s (%s): %s", agent, output_model.__name__, reason)
        try:
            result = self.fallback.complete_json(
                agent=agent,
                system=system,
                prompt=prompt,
                output_model=output_model,
                request_id=request_id,
                context=context,
                validate=validate,
                status=STATUS_FALLBACK,
            )
        except LLMError as error:
            raise LLMError(f"{agent}: the LLM failed ({reason}) and the template fallback failed ({error})") from error
        attempts = (*state.records, *result.attempts)
        return LLMResult(
            output=result.output,
            provider=result.provider,
            model=result.model,
            prompt_tokens=sum(r.prompt_tokens for r in attempts),
            completion_tokens=sum(r.completion_tokens for r in attempts),
            latency_ms=int((time.perf_counter() - started) * 1000),
            fallback=True,
            fallback_reason=reason,
            attempts=attempts,
        )
