"""Dagster-aware building blocks the definitions in ``orchestration/defs`` share: partitions,
resources, the dbt project and its translator. Nothing here is a definition itself."""
