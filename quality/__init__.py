"""Data quality of the platform: rules as code, the policy, the GX runner, quarantine and scorecard.

- ``rules``: the suites of every raw table and key mart (SQL predicate + GX expectation per rule)
- ``policy``: what blocks, what warns, what is quarantined, and every threshold
- ``validation``: runs a suite with Great Expectations 1.x, computed in PostgreSQL
- ``quarantine``: the raw layer's after-load hook, and the release of fixed rows
- ``scorecard``: seed 000's five metrics per table and day
- ``payloads``: the JSON Schema of every payload column, compiled to SQL
- ``reconcile``: the daily marts' totals of a day against the same totals from raw
"""
