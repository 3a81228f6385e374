"""Every process that builds a job must build the same plan: the run's process plans the steps, and
with the Celery or Kubernetes executor another process executes each step by its name. Dagster
splits an op whose assets or checks sit at different depths of a job's graph and numbers the
pieces (``_2``, ``_3``) in an order that can follow the process's hash seed; a step process with
another seed would then run another piece than the one the run planned (the Celery test's
failure), and the UI marks every re-execution "the loaded job may differ" (snapshot ids differ).
This builds the jobs under three hash seeds, each in its own interpreter, and compares."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from foundation.settings import REPO_ROOT

# step processes of these jobs may run elsewhere (Celery, k8s_job_executor: docs/deploy.md), and
# their runs are the ones re-executed from the UI
DISTRIBUTED_JOBS = ("daily_pipeline_job", "realtime_refresh_job", "exports_daily_job", "ml_training_job")

_PLANS = """
import json, warnings
warnings.filterwarnings("ignore")
from dagster._core.definitions.dependency import NodeHandle
from orchestration.definitions import defs
plans = {}
for name in %r:
    job = defs.resolve_job_def(name)
    nodes = {}
    for node in job.graph.node_dict:
        assets_def = job.asset_layer.get_assets_def_for_node(NodeHandle(node, None))
        if assets_def is not None:
            nodes[node] = sorted([k.to_user_string() for k in assets_def.keys]
                                 + [f"{c.asset_key.to_user_string()}:{c.name}" for c in assets_def.check_keys])
    plans[name] = {"nodes": nodes, "snapshot": job.get_job_snapshot_id()}
print(json.dumps(plans))
"""


def _plans(seed: int) -> dict[str, dict[str, object]]:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run([sys.executable, "-c", _PLANS % (DISTRIBUTED_JOBS,)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_every_process_plans_the_same_steps_for_each_job() -> None:
    first, *others = (_plans(seed) for seed in (1, 2, 3))
    for name in DISTRIBUTED_JOBS:
        assert first[name]["nodes"], name
        for other in others:
            assert other[name]["nodes"] == first[name]["nodes"], f"{name}: a step names other assets in another process"
    # the daily pipeline's runs re-execute without "the loaded job may differ"
    assert {plans["daily_pipeline_job"]["snapshot"] for plans in (first, *others)} == {first["daily_pipeline_job"]["snapshot"]}


def test_each_job_runs_dbt_as_one_invocation() -> None:
    """A job's dbt op is not cut into pieces: each piece is a dbt invocation of its own, paying dbt's
    start-up (the daily pipeline ran dbt eight times a day, then twice: one op for the daily models and
    one for the others; now one op holds both, the daily models partitioned, the others not). They were cut because dbt's source tests,
    checks on the raw assets run by the ``marts`` op, were blocking: the raw loads downstream of a raw
    table waited on ``marts``, which waits on them (a cycle Dagster resolves by splitting ``marts``)."""
    import re

    import dagster as dg

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for name in ("daily_pipeline_job", "realtime_refresh_job", "raw_daily_job", "raw_snapshots_job"):
        nodes = set(defs.resolve_job_def(name).graph.node_dict)
        assert [n for n in nodes if re.fullmatch(r"(daily_)?marts(_\d+)?", n)] == ["marts"], f"{name}: {sorted(nodes)}"
    # what changed is only whether a source test gates execution: it is still a check on its raw asset,
    # and a mart's own tests still gate what reads the mart
    source_test = dg.AssetCheckKey(dg.AssetKey(["raw", "agents"]), "source_not_null_raw_agents_id")
    assert source_test in graph.asset_check_keys
    assert not graph.get_check_spec(source_test).blocking
    mart_tests = [k for k in graph.asset_check_keys if k.asset_key.path[0] == "marts" and k.name.startswith("unique_")]
    assert mart_tests and all(graph.get_check_spec(k).blocking for k in mart_tests)


def test_every_job_that_runs_dbt_takes_its_turn_on_the_warehouse() -> None:
    """Two runs with a dbt step at once (a refresh of today beside another day's daily run, a raw
    backfill beside either) rebuild the same staging views and test-failure tables under each other.
    The queue lets one run tagged ``DBT_RUN_TAGS`` in flight (``dagster.yaml``); a job that runs dbt and
    forgets the tag would race again."""
    import yaml

    from foundation.settings import REPO_ROOT
    from orchestration.definitions import defs
    from orchestration.defs.marts.assets import marts
    from orchestration.lib.run_tags import DBT_RUN_TAGS

    with_dbt = {job.name for job in defs.resolve_all_job_defs()
                if not job.name.startswith("__") and marts.op.name in job.graph.node_dict}
    assert {"daily_pipeline_job", "realtime_refresh_job"} <= with_dbt
    for name in with_dbt:
        tags = defs.resolve_job_def(name).tags
        assert DBT_RUN_TAGS.items() <= tags.items(), f"{name} runs dbt but its runs are not tagged {DBT_RUN_TAGS}"
    # and the queue holds such runs to one at a time
    instance = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    limits = instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    [(key, value)] = DBT_RUN_TAGS.items()
    assert {"key": key, "limit": 1} in limits or {"key": key, "value": value, "limit": 1} in limits
