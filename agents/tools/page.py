"""Turning a fetched HTML page into the facts the research agent reasons about."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup

_NOISE_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class PageSummary:
    url: str | None
    title: str
    site_name: str
    description: str
    headings: list[str] = field(default_factory=list)
    list_items: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def business_name(self) -> str:
        """og:site_name, else the title up to its first separator."""
        if self.site_name:
            return self.site_name
        return re.split(r"\s+[|\-–—:·]\s+", self.title, maxsplit=1)[0].strip()

    def research_text(self, limit: int = 8000) -> str:
        """The parts worth sending to an LLM (or to ``detect_domain``), bounded in size."""
        parts = [self.title, self.description, " ".join(self.headings), " ".join(self.list_items), self.text]
        return _WS.sub(" ", " ".join(p for p in parts if p)).strip()[:limit]


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def _meta(soup: BeautifulSoup, *keys: str) -> str:
    for key in keys:
        tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
        if tag is not None and tag.get("content"):
            return _clean(str(tag.get("content")))
    return ""


def extract_page(html: str, url: str | None = None, *, max_text: int = 20_000) -> PageSummary:
    """Title, site name, description, headings, list items and visible text of a page."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_NOISE_TAGS):
        tag.decompose()
    title = _clean(soup.title.get_text()) if soup.title else ""
    headings = [_clean(h.get_text(" ")) for h in soup.find_all(["h1", "h2", "h3"])]
    items = [_clean(li.get_text(" ")) for li in soup.find_all("li")]
    body = soup.body or soup
    return PageSummary(
        url=url,
        title=title,
        site_name=_meta(soup, "og:site_name", "application-name"),
        description=_meta(soup, "og:description", "description"),
        headings=[h for h in headings if h][:50],
        list_items=[i for i in items if i][:100],
        text=_clean(body.get_text(" "))[:max_text],
    )
