"""Housekeeping: the deletions ledger and the orphan sweep (the retention rules: ``foundation/retention.py``)."""
