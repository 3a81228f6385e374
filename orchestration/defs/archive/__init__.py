"""Archive: old months of raw tables move from PostgreSQL (hot) to Parquet (warm, then cold).

The engine is ``datamove/archive/``. The guard that keeps the raw layer from extracting an
archived month again is part of the raw load's policy (``orchestration/defs/raw/assets.py``).
"""
