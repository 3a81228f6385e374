"""Exports: the export-shaped marts, one day at a time, into day-partitioned BigQuery tables.

The engine is ``datamove/export.py``; the ``bigquery`` resource is shared with the provisioning agents.
"""
