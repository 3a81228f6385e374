"""Dagster definitions, resources and the embedded stack of the agent platform."""

import warnings

# Backfill policies and a few other APIs we rely on are marked beta in Dagster 1.13.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")
warnings.filterwarnings("ignore", message=".*is currently in preview.*")
