"""Benchmark: provision every built-in domain offline, from its local fixture website.

    .venv/bin/python bench/provision.py [--row-scale 1.0] [--domains saas,ecommerce]

A private embedded PostgreSQL and a private BigQuery emulator are started in a temporary
folder (and stopped by pid at the end); the fixture website runs on 127.0.0.1, reached
through a URL policy that allows that host (the benchmark's only exemption). Each domain
is one provisioning request run through the whole graph with the offline template
provider, at the designed row counts by default. Per request it prints the seconds of
each node; for the infrastructure node it also prints its ratio to the fastest way to
put the same Parquet files in the same emulator (one bare ``load_table_from_file`` per
table, no staging, reconciliation or MERGE). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from google.cloud import bigquery  # noqa: E402

from agents.guards.url import URLPolicy  # noqa: E402
from agents.llm import UsageRecorder, get_provider  # noqa: E402
from agents.provisioning import NODE_ORDER, ProvisioningDeps, insert_request, provision_request  # noqa: E402
from agents.provisioning.infrastructure import bigquery_schema  # noqa: E402
from agents.schemas import SchemaDesign  # noqa: E402
from agents.testing.fixture_sites import SITES, FixtureSites  # noqa: E402
from bench._common import emit, peak_rss_mb, private_postgres  # noqa: E402
from datamove.bigquery import make_client  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from orchestration.stack.bigquery import ensure_emulator, stop_emulator  # noqa: E402
from orchestration.stack.postgres import OWNER_ROLE  # noqa: E402

log = logging.getLogger("bench.provision")


def bare_load_seconds(client: bigquery.Client, schema: SchemaDesign, files: dict[str, dict[str, object]],
                      dataset: str) -> float:
    """The floor for the infrastructure step: plain Parquet load jobs into fresh tables."""
    client.create_dataset(dataset, exists_ok=True)
    started = time.perf_counter()
    for table in schema.load_order():
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET, schema=bigquery_schema(table),
                                        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
        payload = Path(str(files[table.name]["path"])).read_bytes()
        client.load_table_from_file(io.BytesIO(payload), f"{dataset}.{table.name}", job_config=config).result()
    return time.perf_counter() - started


def through_the_daemon(home: Path, server: object, app_dsn: str, warehouse_dsn: str, endpoint: str
                       ) -> dict[str, object]:
    """One request from its row to its run's success through the sensor and the daemon."""
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

    from foundation.connections import sqlalchemy_url
    from foundation.settings import REPO_ROOT, now
    from orchestration.cli.demo import DEMO_CUSTOMER, DEMO_CUSTOMER_URL
    from orchestration.cli.launch import (
        await_sensor_run,
        code_location,
        daemon_is_running,
        serving_daemon,
        wait_for,
    )
    from orchestration.cli.provisioning import refusal
    from orchestration.defs.provisioning.sensors import (
        REQUEST_TAG,
        SENSOR_INTERVAL_SECONDS,
        provisioning_requests_sensor,
    )

    dagster_home = home / "dagster"
    dagster_home.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    os.environ.update({
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_URL": sqlalchemy_url(server.dsn("dagster", OWNER_ROLE), driver="psycopg2"),  # type: ignore[attr-defined]
        "PLATFORM_APP_DSN": app_dsn, "PLATFORM_WAREHOUSE_DSN": warehouse_dsn, "PLATFORM_REPLICA_DSN": warehouse_dsn,
        "BIGQUERY_API_ENDPOINT": endpoint, "DAGSTER_DISABLE_TELEMETRY": "true",
    })
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the run worker caches bytecode, as make does
    with DagsterInstance.get() as instance, code_location(instance) as workspace, \
            serving_daemon(instance, workspace, {provisioning_requests_sensor.name}, home / "daemon.log"):
        deadline = time.monotonic() + 300
        while not daemon_is_running(instance, within_seconds=30):  # the daemon up, its code location loaded
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster-daemon did not start: see {home / 'daemon.log'}")
            time.sleep(1)
        time.sleep(2 * SENSOR_INTERVAL_SECONDS)  # a request waits for the sensor's next tick, not for a start
        requested = time.time()
        request_id = insert_request(app_dsn, DEMO_CUSTOMER_URL, "bench-daemon", manual_input=DEMO_CUSTOMER,
                                    now=now())  # its own requester: "bench" has used its daily quota above
        launched = await_sensor_run(instance, {REQUEST_TAG: str(request_id)}, lambda: refusal(app_dsn, request_id))
        if isinstance(launched, str):
            raise RuntimeError(f"request {request_id} not launched: {launched}")
        [run] = wait_for(instance, [launched.run_id], timeout=3600)
        events = {r.dagster_event.event_type: r.timestamp for r in instance.all_logs(run.run_id)
                  if r.dagster_event is not None}
    created = instance.get_run_record_by_id(run.run_id).create_timestamp.timestamp()  # type: ignore[union-attr]
    finished = events.get(DagsterEventType.RUN_SUCCESS) or events.get(DagsterEventType.RUN_FAILURE) or time.time()
    started = events.get(DagsterEventType.RUN_START, finished)
    steps = [t for kind, t in events.items() if kind in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS)]
    return {"status": run.status.value, "succeeded": run.status == DagsterRunStatus.SUCCESS,
            "request_to_success_seconds": round(finished - requested, 1),
            "request_to_launch_seconds": round(created - requested, 1),
            "launch_to_start_seconds": round(started - created, 1),
            "run_seconds": round(finished - started, 1),
            "step_seconds": round(max(steps) - min(steps), 1) if len(steps) == 2 else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row-scale", type=float, default=1.0, help="share of the designed row counts")
    parser.add_argument("--domains", default=",".join(sorted(SITES)), help="comma-separated domains")
    parser.add_argument("--without-daemon", action="store_true",
                        help="skip the request through the sensor and the daemon (request_to_success_seconds)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    domains = [d for d in args.domains.split(",") if d]

    home = Path(tempfile.mkdtemp(prefix="bench-prov-", dir="/tmp"))
    os.chmod(home, 0o755)
    for name in ("BIGQUERY_API_ENDPOINT", "ANTHROPIC_API_KEY"):  # the benchmark is offline by design
        os.environ.pop(name, None)
    os.environ["PLATFORM_HOME"] = str(home)
    settings = load_settings()
    results = []
    daemon: dict[str, object] = {}
    try:
        with private_postgres("bench-prov-pg-") as (server, app_dsn, warehouse_dsn), FixtureSites() as sites:
            endpoint = ensure_emulator(settings)
            client = make_client(settings.bigquery_project, settings.bigquery_location, endpoint)
            header = " ".join(f"{n:>15}" for n in NODE_ORDER)
            print(f"{'domain':<22} {'status':<10} {header} {'total':>7} {'golden':>7} {'rows':>9} {'infra/bare':>10}")
            for domain in domains:
                deps = ProvisioningDeps(
                    app_dsn=app_dsn, bigquery_client=client,
                    provider=get_provider(recorder=UsageRecorder(app_dsn)), work_dir=home / "work",
                    url_policy=URLPolicy(allow_hosts=frozenset({"127.0.0.1"})), row_scale=args.row_scale,
                )
                request_id = insert_request(app_dsn, sites.url_for(domain), "bench")
                started = time.perf_counter()
                outcome = provision_request(request_id, deps)
                total = time.perf_counter() - started
                result = outcome.result
                nodes = result.get("node_seconds", {})
                ratio = None
                if outcome.succeeded:
                    bare = bare_load_seconds(client, SchemaDesign.model_validate(outcome.state["schema"]),
                                             outcome.state["data_files"], f"bare_{request_id}")
                    ratio = nodes.get("infrastructure", 0.0) / bare if bare else None
                golden = result.get("golden_queries", [])
                results.append({"domain": domain, "status": outcome.status, "seconds": total,
                                "golden": len(golden), "golden_ok": result.get("golden_queries_ok", 0),
                                "rows": result.get("rows", 0), "ratio": ratio, "nodes": nodes})
                cells = " ".join(f"{nodes.get(n, 0.0):>15.2f}" for n in NODE_ORDER)
                print(f"{domain:<22} {outcome.status:<10} {cells} {total:>7.1f} "
                      f"{result.get('golden_queries_ok', 0):>3}/{len(golden):<3} {result.get('rows', 0):>9,} "
                      f"{ratio if ratio is not None else float('nan'):>10.2f}", flush=True)
            if not args.without_daemon:
                daemon = through_the_daemon(home, server, app_dsn, warehouse_dsn, endpoint)
                print(f"through the sensor and the daemon: {daemon}", flush=True)
    finally:
        stop_emulator(settings)
        shutil.rmtree(home, ignore_errors=True)

    seconds = [r["seconds"] for r in results]
    ratios = [r["ratio"] for r in results if r["ratio"]]
    per_node = {n: round(statistics.median(r["nodes"].get(n, 0.0) for r in results), 3) for n in NODE_ORDER}
    emit({
        "benchmark": "provision",
        "domains": len(results),
        "succeeded": sum(1 for r in results if r["status"] == "succeeded"),
        "golden_queries": sum(r["golden"] for r in results),
        "golden_queries_ok": sum(r["golden_ok"] for r in results),
        "median_seconds": round(statistics.median(seconds), 2) if seconds else None,
        "max_seconds": round(max(seconds), 2) if seconds else None,
        "median_node_seconds": per_node,
        "rows": sum(r["rows"] for r in results),
        "row_scale": args.row_scale,
        "infrastructure_vs_bare_load_median": round(statistics.median(ratios), 2) if ratios else None,
        "provider": "offline-template/templates-v1",
        "peak_rss_mb": peak_rss_mb(),
        "request_to_success_seconds": daemon.get("request_to_success_seconds"),
        "through_the_daemon": daemon or None,
    })
    return 0 if all(r["status"] == "succeeded" for r in results) and daemon.get("succeeded", True) else 1


if __name__ == "__main__":
    sys.exit(main())
