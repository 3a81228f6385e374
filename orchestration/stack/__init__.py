"""The embedded stack: PostgreSQL from the pgserver wheel and the BigQuery emulator, started and
stopped by pid when no production system is configured."""
