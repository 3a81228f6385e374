"""The Parquet archive: old months of raw tables move from PostgreSQL (hot) to Parquet (warm, then cold)."""
