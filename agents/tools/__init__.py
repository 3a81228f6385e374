"""Helpers the agent nodes use (page extraction for the research step)."""
