"""Names the rules put into PostgreSQL fit its identifiers (63 bytes), or the batch view loses them."""

from quality.rules import MART_SUITES, RAW_SUITES


def test_every_computed_column_fits_a_postgresql_identifier_and_stays_unique() -> None:
    for suite in [*RAW_SUITES.values(), *MART_SUITES.values()]:
        names = [rule.computed_column for rule in suite.rules if rule.computed_column]
        assert all(len(name.encode()) <= 63 for name in names), (suite.name, [n for n in names if len(n) > 63])
        assert len(set(names)) == len(names), suite.name
    # the rule that broke the daily pipeline on clean data (raw/issues): 66 bytes before
    [rule] = [r for r in RAW_SUITES["issues"].rules if r.name == "work_last_completed_at_not_before_work_first_started_at"]
    assert rule.computed_column and rule.computed_column.startswith("violates__work_last_completed_at")
