"""Benchmark of the PostgresML-compatible engine against bare library calls, in one run.

    .venv/bin/python bench/ml.py --rows 200000

Starts its own embedded PostgreSQL in a temporary folder, builds a table of ``--rows``
rows x 10 float features with a planted linear signal, then measures:

- ``train_overhead`` = engine ``train`` seconds (read over ADBC, preprocessing, fit,
  scoring, serializing and storing the model, deploying) / a bare LightGBM fit on the
  same training arrays (target <= 1.2);
- ``batch_vs_inprocess`` = in-process ``estimator.predict`` seconds / engine
  ``predict_batch`` seconds on the same rows (target >= 0.8).

Each pair is timed alternately, best-of ``--repeat``, single-threaded (``n_jobs=1`` on both sides). The table is VACUUM ANALYZEd right after the
load so autovacuum does not start in the middle of the measurements.

Then the platform's own models, as ``ml_training_job`` runs them: ``platform simulate``
(``--seed``, ``--scale``, ``--days``) into the app database, every raw table extracted, dbt's
``+ml_features +customer_churn_features``, and every ML asset and check materialized through
Dagster. Reported from that run (issue 17):

- ``churn_auc``: the churn model's test ROC AUC; ``churn_ceiling_auc``: the simulator's
  best achievable AUC on the same rows (the planted churn probability itself);
  ``churn_share_of_ceiling`` = the two's ratio (target >= 0.9);
- ``anomaly_recall`` / ``anomaly_precision``: the detector's check ``detects_planted_anomalies``
  (targets 0.9 / 0.8), with the healthy predictions it flagged and the recall per planted kind.

``--skip-models`` leaves that part out. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml import MODEL_CACHE, PostgresML  # noqa: E402
from ml.models.planted_anomalies import PRECISION_TARGET, RECALL_TARGET  # noqa: E402
from ml.sampling import split_indices  # noqa: E402
from orchestration.stack.postgres import OWNER_ROLE, start_postgres, stop_postgres  # noqa: E402

FEATURES = [f"x{i}" for i in range(1, 11)]
WEIGHTS = [3.0, -2.0, 1.5, 0.5, -1.0, 0.0, 0.0, 2.0, -0.5, 1.0]
# One thread on both sides: the 2 shared cores are contended by other jobs, and OpenMP
# barriers under contention made multi-threaded fits vary 5x between identical runs.
HYPERPARAMS = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 63, "n_jobs": 1}
PROJECT = "bench_lightgbm"
CHURN_SHARE_TARGET = 0.9


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def interleaved(repeat: int, a: Callable[[], Any], b: Callable[[], Any]) -> tuple[float, float, Any, Any]:
    """Best-of timings of two alternatives run alternately, so load from other processes hits both alike."""
    best_a = best_b = float("inf")
    result_a = result_b = None
    for _ in range(repeat):
        elapsed, result_a = best_of(1, a)
        best_a = min(best_a, elapsed)
        elapsed, result_b = best_of(1, b)
        best_b = min(best_b, elapsed)
    return best_a, best_b, result_a, result_b


def _analysis(conn: psycopg.Connection, model_id: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT s.analysis FROM pgml.models m JOIN pgml.snapshots s ON s.id = m.snapshot_id WHERE m.id = %s",
        (model_id,),
    ).fetchone()
    assert row is not None
    return dict(row[0])


def build_table(conn: psycopg.Connection, rows: int) -> None:
    columns = ", ".join(f"(random() * 2 - 1)::float8 AS {name}" for name in FEATURES)
    signal = " + ".join(f"{w} * {name}" for w, name in zip(WEIGHTS, FEATURES, strict=True))
    conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    conn.execute("SELECT setseed(0.42)")
    conn.execute(f"CREATE TABLE bench.features AS SELECT {columns} FROM generate_series(1, %s)", (rows,))
    conn.execute("ALTER TABLE bench.features ADD COLUMN y float8")
    conn.execute(f"UPDATE bench.features SET y = {signal} + (random() - 0.5)")
    conn.execute("VACUUM (ANALYZE) bench.features")


def _run_dbt_ml_features(warehouse_dsn: str, work_dir: Path) -> None:
    import subprocess

    from orchestration.lib.dbt_env import dbt_environment
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, dbt_executable

    done = subprocess.run(
        [dbt_executable(), "run", "--select", "+ml_features +customer_churn_features", "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(work_dir / "target"),
         "--log-path", str(work_dir / "logs"), "--threads", "2"],
        env={**os.environ, **dbt_environment(warehouse_dsn)}, capture_output=True, text=True, timeout=900, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt run of the ML features failed:\n{done.stdout[-3000:]}")


def model_quality(app_dsn: str, warehouse_dsn: str, home: Path, *, seed: int, scale: str, days: int) -> dict[str, Any]:
    """The churn model against its ceiling and the detector on the planted anomalies, from one Dagster run
    of every ML asset and check on simulated data (the module docstring)."""
    import dagster as dg

    from datamove.extract import extract_table
    from foundation.catalog import SOURCE_TABLES
    from ml.models.specs import ANOMALY, CHURN
    from orchestration.cli.demo import write_simulator_report
    from orchestration.defs.ml.assets import ml_assets
    from orchestration.defs.ml.checks import ml_checks
    from orchestration.lib.resources import PostgresResource
    from orchestration.simulator import simulate

    started = time.perf_counter()
    report = simulate(app_dsn, seed=seed, scale=scale, days=days)
    write_simulator_report(home, report)  # where the model assets read their ceilings (PLATFORM_HOME)
    for table in SOURCE_TABLES:
        extract_table(table, app_dsn, warehouse_dsn)
    _run_dbt_ml_features(warehouse_dsn, home)
    prepared_s = time.perf_counter() - started

    resources = {"warehouse_db": PostgresResource(dsn=warehouse_dsn), "replica_db": PostgresResource(dsn=warehouse_dsn)}
    started = time.perf_counter()
    result = dg.materialize([*ml_assets, *ml_checks], resources=resources, instance=dg.DagsterInstance.ephemeral(),
                            raise_on_error=False)
    job_s = time.perf_counter() - started
    churn = next(e.materialization.metadata for e in result.get_asset_materialization_events()
                 if e.asset_key == dg.AssetKey(CHURN.asset_path))
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.asset_key == dg.AssetKey(ANOMALY.asset_path) and e.check_name == "detects_planted_anomalies")
    detector = {name: value.value for name, value in check.metadata.items()}
    auc, ceiling = float(churn["roc_auc"].value), float(churn["ceiling"].value)
    print(f"churn AUC {auc:.3f} of a ceiling of {ceiling:.3f}; detector recall {detector['recall']:.2f}, "
          f"precision {detector['precision']:.2f}")
    return {
        "simulation": {"seed": seed, "scale": scale, "days": days},
        "models_prepare_seconds": round(prepared_s, 1),
        "ml_job_seconds": round(job_s, 1),
        "ml_job_success": result.success,
        "churn_auc": round(auc, 4),
        "churn_ceiling_auc": round(ceiling, 4),
        "churn_share_of_ceiling": round(auc / ceiling, 4),
        "anomaly_recall": round(float(detector["recall"]), 4),
        "anomaly_precision": round(float(detector["precision"]), 4),
        "anomaly_planted": detector["planted"],
        "anomaly_flagged_normal": detector["flagged_normal"],
        "anomaly_recall_by_kind": detector["recall_by_kind"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--skip-models", action="store_true", help="only the engine timings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    home = Path(tempfile.mkdtemp(prefix="mlb-", dir="/tmp"))
    pgdata = home / "pgdata"
    # A throwaway stack: its home holds the simulator report, its key signs throwaway models.
    os.environ["PLATFORM_HOME"] = str(home)
    os.environ["PLATFORM_MODEL_SIGNING_KEY"] = secrets.token_hex(32)
    try:
        embedded = start_postgres(pgdata)
        dsn = embedded.dsn("warehouse", OWNER_ROLE)
        with psycopg.connect(dsn, autocommit=True) as conn:
            started = time.perf_counter()
            build_table(conn, args.rows)
            load_seconds = time.perf_counter() - started
            ml = PostgresML(conn, signing_key=secrets.token_hex(32))  # a throwaway stack: a throwaway key

            def engine_train() -> Any:
                return ml.train(PROJECT, "regression", "bench.features", "y", algorithm="lightgbm",
                                hyperparams=HYPERPARAMS, test_size=0.25, test_sampling="random")

            # The same training arrays the engine fitted on (preserve scaling: raw values).
            from psycopg import sql

            table = ml._impl.reader.fetch(  # type: ignore[union-attr]
                sql.SQL("SELECT {} FROM bench.features").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in [*FEATURES, "y"])
                ),
                conn,
            )
            x = np.column_stack([table.column(c).to_numpy() for c in FEATURES])
            y = table.column("y").to_numpy()
            train_idx, _ = split_indices(PROJECT, x.shape[0], 0.25, "random", seed=0)
            x_train, y_train = x[train_idx], y[train_idx]

            from lightgbm import LGBMRegressor

            engine_s, bare_s, result, _ = interleaved(
                args.repeat, engine_train, lambda: LGBMRegressor(verbose=-1, **HYPERPARAMS).fit(x_train, y_train)
            )

            _, model = ml._impl.deployed(PROJECT)  # type: ignore[union-attr]
            estimator = model.estimator
            inprocess_s, batch_s, expected, predicted = interleaved(
                args.repeat, lambda: estimator.predict(x), lambda: ml.predict_batch(PROJECT, x)
            )
            assert np.allclose(expected, predicted)
            relation_s, from_relation = best_of(args.repeat, lambda: ml.predict_batch(PROJECT, relation="bench.features"))
            assert from_relation.shape[0] == args.rows
            MODEL_CACHE.clear()
            single_s, _ = best_of(1, lambda: [ml.predict(PROJECT, list(x[i])) for i in range(200)])
            analysis = _analysis(conn, result.model_id)

        targets = {"train_overhead": "<= 1.2", "batch_vs_inprocess": ">= 0.8"}
        summary: dict[str, Any] = {
            "rows": args.rows,
            "features": len(FEATURES),
            "algorithm": "lightgbm",
            "hyperparams": HYPERPARAMS,
            "load_seconds": round(load_seconds, 3),
            "engine_train_seconds": round(engine_s, 3),
            "bare_fit_seconds": round(bare_s, 3),
            "train_overhead": round(engine_s / bare_s, 3),
            # Where the engine's extra time goes (last engine run): the ADBC read and the
            # test-set scoring that the deploy rule needs (upstream scores too).
            "engine_read_seconds": round(analysis["read_seconds"], 3),
            "engine_fit_seconds": round(result.metrics["fit_time"], 3),
            "engine_score_seconds": round(result.metrics["score_time"], 3),
            "engine_predict_batch_seconds": round(batch_s, 4),
            "inprocess_predict_seconds": round(inprocess_s, 4),
            "batch_vs_inprocess": round(inprocess_s / batch_s, 3),
            "predict_batch_from_relation_seconds": round(relation_s, 4),
            "single_predict_ms": round(single_s / 200 * 1000, 3),
            "r2": round(result.metrics["r2"], 4),
            "targets": targets,
        }
        if not args.skip_models:
            summary.update(model_quality(embedded.dsn("app", OWNER_ROLE), dsn, home, seed=args.seed,
                                         scale=args.scale, days=args.days))
            targets.update({"churn_share_of_ceiling": f">= {CHURN_SHARE_TARGET}",
                            "anomaly_recall": f">= {RECALL_TARGET}", "anomaly_precision": f">= {PRECISION_TARGET}"})
        print(f"engine train {engine_s:.2f}s vs bare fit {bare_s:.2f}s; "
              f"predict_batch {batch_s:.3f}s vs in-process {inprocess_s:.3f}s")
        print(json.dumps(summary))
    finally:
        stop_postgres(pgdata)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
