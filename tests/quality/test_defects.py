"""Every defect kind of the catalogue, planted alone, is caught by the rule written for it."""

from __future__ import annotations

import pytest

from orchestration.defs.quality.checks import evaluate_suite
from orchestration.simulator.defects import DEFECTS
from quality.rules import RAW_SUITES
from tests.quality.conftest import ScratchStack

pytestmark = pytest.mark.calendar  # the planted window ends two days before today

# kind -> (table, rule) per table it is planted in; "check" kinds are reported, not quarantined.
# A cascade is planted in the parent and caught in the child: PLANTED_IN names the parent.
CAUGHT_BY = {
    "null_required": [("tasks", "customer_id_complete"), ("agents", "name_complete")],
    "rating_out_of_range": [("tasks", "rating_in_range"), ("agents", "rating_in_range")],
    "price_out_of_range": [("agents", "price_in_range")],
    "unknown_industry": [("agents", "industry_accepted")],
    "orphan_foreign_key": [("tasks", "agent_id_references_agents"), ("trials", "customer_id_references_customers"),
                           ("agents", "specialty_id_references_specialties")],
    "trial_end_before_start": [("trials", "trial_end_after_trial_start")],
    "duplicate_natural_key": [("tasks", "task_ref_unique")],
    "negative_revenue": [("tasks", "revenue_non_negative")],
    "future_timestamp": [("tasks", "completed_at_not_future")],
    "late_arriving": [("tasks", "late_arriving_rows")],
    "malformed_json": [("tasks", "payload_valid_json"), ("chat_messages", "metadata_valid_json")],
    "non_finite_number": [("tasks", "numbers_finite"), ("chat_messages", "numbers_finite")],
    "impossible_order": [("tasks", "completed_at_not_before_created_at")],
    "payload_shape": [("tasks", "payload_shape"), ("chat_messages", "metadata_shape")],
    "parent_quarantined": [("tasks", "agent_id_parent_quarantined")],
}
PLANTED_IN = {("parent_quarantined", "tasks"): "agents"}


def test_every_catalogue_kind_has_a_rule() -> None:
    assert set(CAUGHT_BY) == {d.name for d in DEFECTS}
    for kind, places in CAUGHT_BY.items():
        for table, rule in places:
            assert RAW_SUITES[table].rule(rule).defect == kind


@pytest.mark.parametrize("kind", sorted(CAUGHT_BY))
def test_defect_is_caught(kind: str, scratch: ScratchStack) -> None:
    report = scratch.simulate({kind: 0.02})
    scratch.load()
    for table, rule_name in CAUGHT_BY[kind]:
        planted = report.defects_planted.get(f"{kind}:{PLANTED_IN.get((kind, table), table)}", 0)
        assert planted, f"the simulator planted no {kind} in {table}"
        suite = RAW_SUITES[table]
        rule = suite.rule(rule_name)
        window = (scratch.window.start, scratch.window.end) if suite.partitioned else (None, None)
        results = {r.check_name: r for r in evaluate_suite(
            suite, scratch.warehouse_dsn, None, *window, {rule_name, "error_budget"}, None)}
        if suite.policy_quarantines(rule):
            quarantined = scratch.scalar(
                f"select count(*) from quarantine.{table} where %s = any(_rules)", rule_name)
            # late rows and retries are planted only where they stay inside the window
            assert quarantined >= planted if kind != "duplicate_natural_key" else quarantined == planted
            leaked = scratch.scalar(
                f"select count(*) from raw.{table} r join quarantine.{table} q using ({suite.key_column})"
                + (" where r.task_ref = q.task_ref" if table == "tasks" else ""))
            assert leaked == 0, "a quarantined row is still in raw"
            assert results[rule_name].passed, "raw still breaks the rule after the quarantine"
            assert results["error_budget"].metadata["quarantined_rows"].value >= planted
        else:
            check = results[rule_name]
            assert not check.passed
            assert check.metadata["unexpected_count"].value >= 1
            assert check.severity.value == "WARN"
