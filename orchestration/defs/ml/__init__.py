"""PostgresML models in the graph (seed 003, Phases 3-5): models, score tables, health, retraining.

The engines are in ``ml/`` (the PostgresML interface) and ``ml/models/`` (the platform's
models); this folder only declares the assets, checks, job and sensor. Resources:
``warehouse_db`` (catalog, views, score tables, prediction log), ``replica_db`` (reads).
"""
