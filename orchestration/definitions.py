"""The code location: assembles what the domain packages declare, plus platform-wide policies."""

from __future__ import annotations

from dagster import Definitions

from orchestration.defs import raw
from orchestration.resources import postgres_resources

defs = Definitions.merge(
    raw.defs,
    Definitions(resources=postgres_resources()),
)
