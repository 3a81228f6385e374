"""The platform's models on the PostgresML interface (seed 003): specs, training, scoring,
anomaly scoring, drift and retraining state. The Dagster assets in ``orchestration/defs/ml`` call them."""
