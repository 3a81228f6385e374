"""Dagster definitions, resources and the embedded stack of the agent platform."""
