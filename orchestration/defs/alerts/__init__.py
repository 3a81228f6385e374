"""Alerts raised from the marts: the budget alerts of seed 002 (engine: ``quality/alerts.py``)."""
