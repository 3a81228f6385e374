"""Dagster concurrency pools the platform's steps claim, and the limit of each, across all runs.

Runs of different days may overlap: a real-time refresh of today beside the daily run of
yesterday or a backfill (the queue keeps one run per ``dagster/partition`` value, and a range run
has none). Their ``marts`` steps are the same unpartitioned dbt op: two ``dbt build`` at once
rebuild the same views and tables and write the same test-failure tables (``store_failures``:
``test_failures.<test>`` dropped and created again), and one of them fails. The dbt steps claim
one slot of ``dbt_warehouse``, so they run one at a time; the other steps of both runs go on.

The limits live in the instance's storage (``dagster instance concurrency set``), set by
``platform up`` and every command that starts the stack (``orchestration/stack/control.py``).
"""

from __future__ import annotations

DBT_WAREHOUSE_POOL = "dbt_warehouse"

POOL_LIMITS: dict[str, int] = {DBT_WAREHOUSE_POOL: 1}
