"""Data movement: raw extraction (COPY streaming), BigQuery exports and the Parquet archive.

A library: it imports neither ``orchestration`` nor ``dagster``; the Dagster assets in
``orchestration/defs`` call it with the connections and settings it needs.
"""
