"""Hostile pages make the research agent fall back cleanly, never fail the provisioning."""

from __future__ import annotations

import pytest

from agents.guards.url import URLPolicy, safe_fetch
from agents.llm import TemplateProvider, UsageRecorder
from agents.provisioning.research import research_customer
from agents.schemas import BUSINESS_NAME_MAX_CHARS, DESCRIPTION_MAX_CHARS
from agents.testing.fixture_sites import FixtureSites

LOCAL = URLPolicy(allow_hosts={"127.0.0.1"})


def _research(url: str, manual: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    provider = TemplateProvider(UsageRecorder(""))  # usage kept in memory: no database needed
    return research_customer(request_id=1, url=url, manual_input=manual, provider=provider, url_policy=LOCAL)


@pytest.mark.parametrize("charset", ["x-unknown", "base64", "rot13"])
def test_an_unknown_or_non_text_charset_is_decoded_as_utf8_with_replacement(
    fixture_sites: FixtureSites, charset: str
) -> None:
    result = safe_fetch(fixture_sites.url(f"charset-unknown?charset={charset}"), LOCAL)
    assert "Trattoria Bellavista" in result.text
    assert result.encoding == "utf-8"


def test_research_reads_a_page_declared_with_an_unknown_charset(fixture_sites: FixtureSites) -> None:
    outcome = _research(fixture_sites.url("charset-unknown"))
    assert outcome.profile.source == "web"
    assert outcome.profile.business_name == "Trattoria Bellavista"
    assert outcome.profile.domain == "restaurant"


def test_an_over_long_site_name_and_description_are_truncated_not_fatal(fixture_sites: FixtureSites) -> None:
    assert fixture_sites.long_name_chars > BUSINESS_NAME_MAX_CHARS
    outcome = _research(fixture_sites.url("long-name"))
    assert outcome.profile.source == "web"
    assert outcome.profile.business_name.startswith("Trattoria Bellavista")
    assert len(outcome.profile.business_name) <= BUSINESS_NAME_MAX_CHARS
    assert outcome.profile.description.startswith("Wood-fired Italian kitchen")
    assert len(outcome.profile.description) <= DESCRIPTION_MAX_CHARS


def test_an_over_long_manual_name_is_truncated_too(fixture_sites: FixtureSites) -> None:
    outcome = _research("http://169.254.169.254/", {"business_name": "N" * 500, "domain": "saas"})
    assert outcome.profile.source == "manual"
    assert outcome.profile.business_name == "N" * BUSINESS_NAME_MAX_CHARS
