"""A code location of the run-worker tests: one job whose op reports the process it runs in.

It starts its run workers the platform's way (``orchestration/definitions.py``), with this module
as what the warm server imports."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import json
import os
import time
from pathlib import Path

import dagster as dg

from orchestration.lib.run_workers import fork_run_workers_from_warm_server

IMPORTED_BY = os.getpid()  # the process that imported the code location


@dg.op(config_schema={"report": str, "seconds": dg.Field(float, default_value=0.0)})
def report_process(context: dg.OpExecutionContext) -> None:
    Path(context.op_config["report"]).write_text(json.dumps(
        {"pid": os.getpid(), "ppid": os.getppid(), "imported_by": IMPORTED_BY}))
    time.sleep(context.op_config["seconds"])


@dg.job(executor_def=dg.in_process_executor)  # the step in the run worker, as the platform's light jobs
def report_job() -> None:
    report_process()


defs = dg.Definitions(jobs=[report_job])

fork_run_workers_from_warm_server((__name__,))
