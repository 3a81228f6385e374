"""Executors, chosen per job: a run costs what its data costs.

Most jobs' steps are light (a COPY, a Great Expectations validation on a shared context, one
dbt process): they run in the run's own process, one after the other, with no start-up per
step. The ML training job's steps are CPU-heavy and independent: they run in parallel
processes forked from a server that has already imported the code location.
"""

from __future__ import annotations

import dagster as dg

in_process = dg.in_process_executor

parallel_forkserver = dg.multiprocess_executor.configured(
    {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["orchestration.definitions"]}}},
    name="parallel_forkserver",
)
