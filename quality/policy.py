"""The quality policy: which rule blocks, which warns, what is quarantined, and every threshold.

This is the one place to change how strict the platform is (docs/quality.md explains it).

- ``quarantine``: rows breaking the rule are moved from ``raw.<table>`` to
  ``quarantine.<table>`` while the raw window is loaded (same transaction).
- ``blocking``: a failure of the rule's asset check is an ERROR and stops every
  downstream asset of the same run. On raw tables the blocking checks run after the
  quarantine, so they fail only when bad rows reached raw anyway (hook not installed,
  rows loaded by hand) or when a rule cannot be fixed by moving rows (primary-key
  duplicates): either way the window must not feed the marts.
- everything else warns (severity WARN): the run continues, the check shows red.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from foundation.catalog import REALTIME_TABLES as CATALOG_REALTIME_TABLES


@dataclass(frozen=True)
class RulePolicy:
    quarantine: bool
    blocking: bool


# Policy by rule kind (see quality/rules.py for the kinds).
RULE_POLICY: dict[str, RulePolicy] = {
    "not_null": RulePolicy(quarantine=True, blocking=True),
    "between": RulePolicy(quarantine=True, blocking=True),
    "in_set": RulePolicy(quarantine=True, blocking=True),
    "references": RulePolicy(quarantine=True, blocking=True),
    "greater_than": RulePolicy(quarantine=True, blocking=True),
    "not_future": RulePolicy(quarantine=True, blocking=True),
    "valid_json": RulePolicy(quarantine=True, blocking=True),
    # NaN / ±Infinity in any numeric column: one such value turns a whole day's sums into NaN
    "finite": RulePolicy(quarantine=True, blocking=True),
    # a declared natural order of two timestamps of the row (NATURAL_ORDERS in quality/rules.py)
    "not_before": RulePolicy(quarantine=True, blocking=True),
    # a JSON payload that parses but does not have the shape the app writes
    "json_shape": RulePolicy(quarantine=True, blocking=True),
    # No silent cascade: a fact whose parent dimension row is quarantined is quarantined with it
    # (reason <column>_parent_quarantined), never dropped by a mart's inner join without a trace.
    "parent_quarantined": RulePolicy(quarantine=True, blocking=True),
    # a natural key re-sent by a client retry: the superseded versions are quarantined
    "unique_latest": RulePolicy(quarantine=True, blocking=True),
    # a primary-key duplicate is an extraction fault, not a bad row: block, never guess
    "unique": RulePolicy(quarantine=False, blocking=True),
    # the row is valid but changed after its partition was extracted: re-run the partition
    "late_arriving": RulePolicy(quarantine=False, blocking=False),
    "freshness": RulePolicy(quarantine=False, blocking=False),
    # share of the window's rows in quarantine, against the validation-error target
    "error_budget": RulePolicy(quarantine=False, blocking=False),
}
# Per-rule exceptions to RULE_POLICY, keyed "<schema>.<table>.<rule name>".
RULE_OVERRIDES: dict[str, RulePolicy] = {}


def policy_for(schema: str, table: str, rule_name: str, kind: str) -> RulePolicy:
    return RULE_OVERRIDES.get(f"{schema}.{table}.{rule_name}", RULE_POLICY[kind])


# Seed 000 "Data Quality Metrics" and "Success Metrics": the five metrics and their targets.
METRICS = ("completeness", "accuracy", "consistency", "timeliness", "uniqueness")
TARGETS: dict[str, float] = {
    "completeness": 1.0,  # 100% completeness of required fields
    "accuracy": 0.999,  # < 0.1% validation errors
    "consistency": 0.999,  # cross-field and cross-table rules, same error budget
    "timeliness": 0.999,  # rows on time (not late-arriving); freshness has its own target below
    "uniqueness": 1.0,  # no duplicate records
}
MAX_VALIDATION_ERROR_RATE = 0.001  # the error budget checked by "error_budget"

# Freshness (seed 000: < 5 minutes for real-time data): how far the raw copy of a window may
# lag behind the latest source activity in the same window.
REALTIME_TABLES = frozenset(t.name for t in CATALOG_REALTIME_TABLES)
REALTIME_FRESHNESS = timedelta(minutes=5)
DAILY_FRESHNESS = timedelta(hours=26)  # batch tables: the 02:00 run plus slack

# A row is late-arriving when it changed this long after its partition day ended: the
# daily extraction has then long copied an outdated version.
LATE_ARRIVAL_GRACE = timedelta(days=1)
# Clock skew tolerated before a timestamp counts as "in the future".
FUTURE_SKEW = timedelta(minutes=5)

# Marts reconciled to raw (quality/reconcile.py): counts and token sums must be equal; money may
# differ by the marts' rounding of each row (numeric(16, 8) per aggregated row, numeric(14, 6) for
# agent_metrics_daily), at most this much per mart row.
RECONCILIATION_ROUNDING_PER_ROW = 0.000001

# Sample values fetched for a failing rule (never for a passing one: that would cost a scan).
SAMPLE_VALUES = 3
