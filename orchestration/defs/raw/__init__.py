"""Raw layer: one asset per source table, extracted with COPY and reconciled by count.

The 02:00 schedule belongs to the daily pipeline (``orchestration/defs/pipeline.py``), which runs
these assets with everything downstream of them.
"""
