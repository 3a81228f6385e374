"""The offline provider: deterministic answers built from the domain templates.

It is the embedded default when no ``ANTHROPIC_API_KEY`` is set, and the fallback the
seeds ask for when the LLM's answer stays invalid. Its output is clearly labelled
(provider ``offline-template``, model ``templates-v1``) and its calls are written to
``llm_usage`` with estimated tokens, like any other provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.llm.base import (
    STATUS_OK,
    TEMPLATE_MODEL,
    TEMPLATE_PROVIDER,
    LLMError,
    LLMResult,
    OutputCheck,
    T,
    UsageRecord,
    estimate_tokens,
)
from agents.llm.usage import UsageRecorder
from agents.schemas import (
    BusinessProfile,
    DataAgentSpec,
    DemoScript,
    GoldenQuerySet,
    SchemaDesign,
    clip_business_name,
    clip_description,
)
from agents.templates import DEFAULT_DOMAIN, UNKNOWN_DOMAIN, DomainTemplate, detect_domain, get_template

log = logging.getLogger(__name__)

Builder = Callable[[DomainTemplate, Mapping[str, Any], float], BaseModel]


class TemplateUnavailableError(LLMError):
    pass


def _business_name(context: Mapping[str, Any], template: DomainTemplate) -> str:
    # The context carries page text: a site name of any length must still make a valid profile.
    name = clip_business_name(str(context.get("business_name") or ""))
    return name or f"Demo {template.title.split('/')[0].strip()} Co"


def _profile(template: DomainTemplate, context: Mapping[str, Any], score: float) -> BaseModel:
    products = list(context.get("products") or template.sample_products)
    return BusinessProfile(
        business_name=_business_name(context, template),
        domain=template.name,
        description=clip_description(str(context.get("description") or f"A {template.title.lower()} business.")),
        website=context.get("url"),
        products=products[:50],
        key_entities=list(template.entities),
        target_customers=str(context.get("target_customers") or ""),
        source="template",
        confidence=score,
    )


def _schema(template: DomainTemplate, context: Mapping[str, Any], score: float) -> BaseModel:
    return template.design.model_copy(update={"rationale": f"Template schema for {template.title} (templates-v1)."})


def _golden(template: DomainTemplate, context: Mapping[str, Any], score: float) -> BaseModel:
    return GoldenQuerySet(queries=template.golden_queries_for(str(context.get("dataset") or "demo")))


def _agent(template: DomainTemplate, context: Mapping[str, Any], score: float) -> BaseModel:
    return template.data_agent_spec(_business_name(context, template), str(context.get("dataset") or "demo"))


def _demo(template: DomainTemplate, context: Mapping[str, Any], score: float) -> BaseModel:
    return template.demo_script(_business_name(context, template))


class TemplateProvider:
    """Answers ``complete_json`` from the domain templates, offline and deterministically."""

    name = TEMPLATE_PROVIDER
    model = TEMPLATE_MODEL

    def __init__(self, recorder: UsageRecorder | None = None) -> None:
        self.recorder = recorder if recorder is not None else UsageRecorder()
        self._builders: dict[type[BaseModel], Builder] = {
            BusinessProfile: _profile,
            SchemaDesign: _schema,
            GoldenQuerySet: _golden,
            DataAgentSpec: _agent,
            DemoScript: _demo,
        }

    def register(self, model: type[BaseModel], builder: Builder) -> None:
        """Teach the provider a new output model (the graph's own state models)."""
        self._builders[model] = builder

    def _builder(self, output_model: type[BaseModel]) -> Builder | None:
        for klass in output_model.__mro__:
            if klass in self._builders:
                return self._builders[klass]
        return None

    def resolve_template(self, prompt: str, context: Mapping[str, Any]) -> tuple[DomainTemplate, float]:
        """The context's domain when it names one, else the domain detected in the prompt."""
        domain = context.get("domain")
        if domain:
            try:
                return get_template(str(domain)), float(context.get("domain_score", 1.0))
            except KeyError:
                log.info("context domain %r has no template; detecting from the prompt", domain)
        detected, score = detect_domain(" ".join(str(v) for v in (prompt, context.get("page_text", ""))))
        if detected == UNKNOWN_DOMAIN:
            return get_template(DEFAULT_DOMAIN), 0.0
        return get_template(detected), score

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
        status: str = STATUS_OK,
    ) -> LLMResult[T]:
        started = time.perf_counter()
        context = dict(context or {})
        builder = self._builder(output_model)
        try:
            if builder is None:
                if "template_output" not in context:
                    raise TemplateUnavailableError(f"no template builder for {output_model.__name__}")
                output = output_model.model_validate(context["template_output"])
            else:
                template, score = self.resolve_template(prompt, context)
                built = builder(template, context, score)
                output = built if isinstance(built, output_model) else output_model.model_validate(built.model_dump())
            if validate is not None:
                validate(output)
        except (ValidationError, ValueError) as error:
            raise TemplateUnavailableError(f"template output for {output_model.__name__} is invalid: {error}") from error
        latency_ms = int((time.perf_counter() - started) * 1000)
        record = UsageRecord(
            provider=self.name,
            model=self.model,
            prompt_tokens=estimate_tokens(system + prompt),
            completion_tokens=estimate_tokens(output.model_dump_json()),
            latency_ms=latency_ms,
            agent_name=agent,
            request_id=request_id,
            status=status,
        )
        self.recorder.record(record)
        return LLMResult(
            output=output,
            provider=self.name,
            model=self.model,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            latency_ms=latency_ms,
            attempts=(record,),
        )
