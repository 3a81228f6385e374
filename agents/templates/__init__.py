"""Domain templates: the offline fallback for every agent step, and the domain detector.

``list_domains()``, ``get_template(name)`` and ``detect_domain(text) -> (domain, score)``.
The templates are data, one YAML file each in ``catalog/`` (``loader.py`` describes the format).
``detect_domain`` scores weighted keyword hits (each keyword counted at most three
times) and turns them into a confidence: the winner's share of the two best scores,
damped while the evidence is thin. Text with no hit gives ``(UNKNOWN_DOMAIN, 0.0)``;
the research step then asks for manual input or uses ``DEFAULT_DOMAIN``.
"""

from __future__ import annotations

import re
from functools import cache

from agents.templates.loader import (
    CATALOG_DIRECTORY,
    CATALOG_PACKAGE,
    TEMPLATE_SUFFIX,
    TemplateFileError,
    catalog_files,
    load_template_file,
    load_templates,
)
from agents.templates.model import DATASET_PLACEHOLDER, DomainMatch, DomainTemplate

UNKNOWN_DOMAIN = "unknown"
DEFAULT_DOMAIN = "ecommerce"
_MAX_HITS_PER_KEYWORD = 3
_CONFIDENT_RAW_SCORE = 12.0

__all__ = [
    "DATASET_PLACEHOLDER",
    "DEFAULT_DOMAIN",
    "UNKNOWN_DOMAIN",
    "DomainMatch",
    "DomainTemplate",
    "TemplateFileError",
    "detect_domain",
    "get_template",
    "list_domains",
    "load_template_file",
    "load_templates",
    "rank_domains",
]


@cache
def _catalog() -> dict[str, DomainTemplate]:
    paths = catalog_files()
    if not paths:
        raise TemplateFileError(f"no template files (*{TEMPLATE_SUFFIX}) in {CATALOG_PACKAGE}/{CATALOG_DIRECTORY}")
    return load_templates(paths)


def list_domains() -> list[str]:
    return sorted(_catalog())


def get_template(name: str) -> DomainTemplate:
    """The template of a domain; unknown names raise ``KeyError`` listing the valid ones."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return _catalog()[key]
    except KeyError:
        raise KeyError(f"no template for domain {name!r}; known: {', '.join(list_domains())}") from None


@cache
def _patterns() -> dict[str, list[tuple[str, re.Pattern[str], float]]]:
    compiled = {}
    for name, template in _catalog().items():
        compiled[name] = [
            (kw, re.compile(r"(?<![\w-])" + re.escape(kw.lower()) + r"(?:s|es)?(?![\w-])"), weight)
            for kw, weight in template.keywords.items()
        ]
    return compiled


def rank_domains(text: str) -> list[DomainMatch]:
    """Every domain with at least one keyword hit, best first."""
    lowered = re.sub(r"\s+", " ", text.lower())
    raw_scores = []
    for name, patterns in _patterns().items():
        raw, hits = 0.0, []
        for keyword, pattern, weight in patterns:
            count = min(len(pattern.findall(lowered)), _MAX_HITS_PER_KEYWORD)
            if count:
                raw += weight * count
                hits.append(keyword)
        if raw > 0:
            raw_scores.append((name, raw, tuple(hits)))
    raw_scores.sort(key=lambda item: (-item[1], item[0]))
    if not raw_scores:
        return []
    second = raw_scores[1][1] if len(raw_scores) > 1 else 0.0
    matches = []
    for name, raw, found in raw_scores:
        other = second if name == raw_scores[0][0] else raw_scores[0][1]
        share = raw / (raw + other) if raw + other else 0.0
        evidence = min(1.0, raw / _CONFIDENT_RAW_SCORE)
        matches.append(DomainMatch(domain=name, score=round(share * evidence, 4), raw=raw, hits=found))
    return matches


def detect_domain(text: str) -> tuple[str, float]:
    """(domain, confidence in [0, 1]) for page text; ``(UNKNOWN_DOMAIN, 0.0)`` without evidence."""
    ranked = rank_domains(text)
    if not ranked:
        return UNKNOWN_DOMAIN, 0.0
    return ranked[0].domain, ranked[0].score
