"""Test and benchmark helpers (a local fixture website); not used in production paths."""
