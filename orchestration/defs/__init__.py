"""One package per domain of the graph; each exposes ``defs`` (a ``dagster.Definitions``)."""
