"""The defect catalogue: every kind of bad data the simulator plants and the quality layer must catch.

This is the one documented place for the defects. Each kind names the table and
column it lands in and the rule that catches it; the quality layer's suites and
tests are written against these names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefectKind:
    name: str
    table: str
    column: str
    rule: str
    how_planted: str


DEFECTS: tuple[DefectKind, ...] = (
    DefectKind("null_required", "tasks", "customer_id", "required fields are complete",
               "tasks.customer_id set to NULL (also agents.name for dimension rows)"),
    DefectKind("rating_out_of_range", "tasks", "rating", "rating is between 0 and 5",
               "tasks.rating set to 5.5-9.9 or a negative value (also agents.rating)"),
    DefectKind("price_out_of_range", "agents", "price", "price is between 5,000 and 50,000",
               "agents.price set below 5,000 or above 50,000"),
    DefectKind("unknown_industry", "agents", "industry", "industry in {marketing, education, sales}",
               "agents.industry set to a value outside the three industries"),
    DefectKind("orphan_foreign_key", "tasks", "agent_id", "referenced agent/customer/specialty exists",
               "tasks.agent_id, trials.customer_id or agents.specialty_id pointing at no row"),
    DefectKind("trial_end_before_start", "trials", "trial_end", "trial_end > trial_start",
               "trials.trial_end set at or before trial_start"),
    DefectKind("duplicate_natural_key", "tasks", "task_ref", "task_ref is unique",
               "a second tasks row re-using an existing task_ref (a client retry), with a later updated_at"),
    DefectKind("negative_revenue", "tasks", "revenue", "revenue >= 0", "tasks.revenue made negative"),
    DefectKind("future_timestamp", "tasks", "completed_at", "timestamps are not in the future",
               "tasks.completed_at set 30-400 days after the simulated window"),
    DefectKind("late_arriving", "tasks", "updated_at", "rows do not change after their partition day",
               "tasks updated (rating changed) 2-10 days after they were created, inside the simulated window"),
    DefectKind("malformed_json", "tasks", "payload", "payloads are valid JSON",
               "tasks.payload (also chat_messages.metadata) truncated into invalid JSON"),
    DefectKind("non_finite_number", "tasks", "revenue", "every numeric column is finite",
               "tasks.revenue set to NaN (also chat_messages.rag_confidence to NaN or Infinity); NaN >= 0 "
               "holds in PostgreSQL, so range rules alone pass it"),
    DefectKind("impossible_order", "tasks", "completed_at", "declared timestamp orders hold (completed_at >= created_at)",
               "tasks.completed_at set 1-48 hours before created_at"),
    DefectKind("payload_shape", "tasks", "payload", "payloads match their JSON Schema",
               "tasks.payload (also chat_messages.metadata) valid JSON of another shape: a key missing, a "
               "string where a number belongs, an array instead of an object"),
    DefectKind("parent_quarantined", "tasks", "agent_id", "a fact's parent row is not quarantined",
               "an agent that has tasks gets a price of 0 (quarantined): its tasks follow it into quarantine"),
)

DEFECTS_BY_NAME = {d.name: d for d in DEFECTS}
DEFAULT_DEFECT_RATE = 0.001  # per kind, per eligible row: 0.1%, the seed's validation-error budget


def defect_rates(defects: dict[str, float] | float | None) -> dict[str, float]:
    """Normalise the ``defects`` argument: one rate for every kind, or a rate per kind."""
    if defects is None:
        return {d.name: DEFAULT_DEFECT_RATE for d in DEFECTS}
    if isinstance(defects, int | float):
        return {d.name: float(defects) for d in DEFECTS}
    unknown = set(defects) - set(DEFECTS_BY_NAME)
    if unknown:
        raise ValueError(f"unknown defect kind(s) {sorted(unknown)}; known: {sorted(DEFECTS_BY_NAME)}")
    return {d.name: float(defects.get(d.name, 0.0)) for d in DEFECTS}
