"""The platform's command line: `platform <command>` (the Makefile's targets call it)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from foundation.settings import ENVIRONMENT, HISTORY_BEYOND_DAYS, SECRET_VARIABLES, load_settings, today
from orchestration.cli.shell import add_secrets_flag, print_exports

log = logging.getLogger("platform")


def _cmd_up(args: argparse.Namespace) -> int:
    from orchestration.stack.control import stack_up

    if args.replica:
        os.environ["PLATFORM_REPLICA"] = "1"
    stack_up()
    print("embedded stack is up; `eval \"$(platform env)\"` exports its settings")
    return 0


def _cmd_down(_: argparse.Namespace) -> int:
    from orchestration.stack.control import stack_down

    stopped = stack_down()
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _cmd_env(args: argparse.Namespace) -> int:
    from orchestration.stack.control import stack_up

    stack_up()
    # keys (SECRET_VARIABLES) are never printed; DSN passwords only with --with-secrets
    from foundation.connections import dsn_without_password, sqlalchemy_url

    resolved = {name: os.environ[name] for name in ENVIRONMENT
                if os.environ.get(name) and name not in SECRET_VARIABLES}
    # the instance's dagster.yaml reads its storage from DAGSTER_PG_URL: with it, `dg` and `dagster`
    # commands in the shell use the platform's instance (the URL keeps the DSN's password rule)
    dagster_dsn = os.environ["PLATFORM_DAGSTER_DSN"]
    resolved["DAGSTER_PG_URL"] = sqlalchemy_url(
        dagster_dsn if args.with_secrets else dsn_without_password(dagster_dsn), driver="psycopg2")
    print_exports(resolved, command="env", with_secrets=args.with_secrets)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from orchestration.simulator import simulate
    from orchestration.stack.control import stack_up

    settings = stack_up()
    end = date.fromisoformat(args.end_date) if args.end_date else today()
    report = simulate(settings.app_dsn, seed=args.seed, scale=args.scale, days=args.days, end_date=end,  # type: ignore[arg-type]
                      defects=args.defect_rate)
    from orchestration.cli.demo import write_simulator_report

    report_path = write_simulator_report(settings.home, report)
    print(f"simulated {report.total_rows:,} rows ({args.scale}, {args.days} days to {end}); report: {report_path}")
    if args.live:
        from orchestration.simulator.live import run_live

        run_live(settings.app_dsn, seed=args.seed, scale=args.scale, interval=args.interval)  # type: ignore[arg-type]
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.cli.demo import DEMO_PARTS, run_demo

    skip = frozenset(part.strip() for part in (args.skip or "").split(",") if part.strip())
    if skip - set(DEMO_PARTS):
        raise SystemExit(f"--skip: unknown part(s) {sorted(skip - set(DEMO_PARTS))}; choose from {', '.join(DEMO_PARTS)}")
    return run_demo(scale=args.scale, days=args.days, seed=args.seed, skip=skip, defect_rate=args.defect_rate)


def _cmd_ui(args: argparse.Namespace) -> int:
    import signal
    import subprocess

    from foundation.settings import REPO_ROOT
    from orchestration.cli.data_docs import data_docs_server
    from orchestration.stack.control import stack_up

    settings = stack_up()
    # `dg dev`: the webserver and the daemon on the platform's instance, for the project of
    # pyproject.toml's [tool.dg] (code location agent_platform, as workspace.yaml names it)
    dg = str(Path(sys.executable).parent / "dg")
    command = [dg, "dev", "--target-path", str(REPO_ROOT), "--host", args.host, "--port", str(args.port)]
    if args.without_daemon:  # the pages only: no schedule, sensor or queued run moves while one looks
        command = [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(REPO_ROOT / "workspace.yaml"),
                   "-h", args.host, "-p", str(args.port)]
    with data_docs_server(settings.data_docs_dir, settings.data_docs_url):
        print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}), "
              f"Data Docs on {settings.data_docs_url}", flush=True)
        # Ctrl-C stops the UI even when this command was started with SIGINT ignored (a background job)
        ui = subprocess.Popen(command, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
        # a SIGTERM (a supervisor, `kill`) stops it like Ctrl-C: dg dev stops its webserver and daemon
        signal.signal(signal.SIGTERM, lambda *_: ui.send_signal(signal.SIGINT))
        try:
            return ui.wait()
        except KeyboardInterrupt:  # Ctrl-C reaches dg dev too: let it stop its webserver and daemon
            return ui.wait()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("great_expectations", "alembic", "pgserver", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the embedded stack and migrate")
    up.add_argument("--replica", action="store_true", help="also start a streaming replica for the reads")
    up.set_defaults(func=_cmd_up)
    sub.add_parser("down", help="stop the embedded stack (by pid)").set_defaults(func=_cmd_down)
    env = sub.add_parser("env", help="export lines for the resolved settings: eval \"$(platform env)\"")
    add_secrets_flag(env)
    env.set_defaults(func=_cmd_env)

    simulate = sub.add_parser("simulate", help="fill the app database from the simulator")
    simulate.add_argument("--scale", default=settings.scale)
    simulate.add_argument("--days", type=int, default=settings.days)
    simulate.add_argument("--seed", type=int, default=settings.seed)
    simulate.add_argument("--end-date", help="exclusive end of the history (default: the platform's today, UTC)")
    simulate.add_argument("--defect-rate", type=float, default=None, help="rate per defect kind (default 0.001)")
    simulate.add_argument("--live", action="store_true", help="then keep appending rows for 'today'")
    simulate.add_argument("--interval", type=float, default=5.0, help="seconds between live batches")
    simulate.set_defaults(func=_cmd_simulate)

    demo = sub.add_parser("demo", help="run the platform end to end on the embedded defaults")
    demo.add_argument("--scale", default=settings.scale)
    # 30 days beyond the 90-day hot window, so the demo also archives a month to Parquet
    demo.add_argument("--days", type=int, default=settings.days + HISTORY_BEYOND_DAYS)
    demo.add_argument("--seed", type=int, default=settings.seed)
    demo.add_argument("--defect-rate", type=float, default=None,
                      help="rate per defect kind in the simulated data (default 0.001; 0: clean data)")
    demo.add_argument("--skip", default="", help="comma-separated parts to leave out: ml, exports, archive, housekeeping, "
                      "provisioning (the daily pipeline always runs)")
    demo.set_defaults(func=_cmd_demo)

    ui = sub.add_parser("ui", help="Dagster webserver and daemon on the platform's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--without-daemon", action="store_true",
                    help="the webserver alone: schedules, sensors and queued runs stay still")
    ui.set_defaults(func=_cmd_ui)

    from orchestration.cli import archive, dbt, ml_engine, provisioning, quality

    for area in (quality, archive, provisioning, dbt, ml_engine):
        area.add_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
