"""The platform's command line: `platform <command>` (the Makefile's targets call it)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from foundation.settings import ENVIRONMENT, SECRET_VARIABLES, load_settings, today
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
    resolved = {name: os.environ[name] for name in ENVIRONMENT
                if os.environ.get(name) and name not in SECRET_VARIABLES}
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
    from orchestration.cli.demo import run_demo

    return run_demo(scale=args.scale, days=args.days, seed=args.seed)


def _cmd_ui(args: argparse.Namespace) -> int:
    from orchestration.stack.control import stack_up

    stack_up()
    from foundation.settings import REPO_ROOT

    # `dg dev`: the webserver and the daemon on the platform's instance, for the project of
    # pyproject.toml's [tool.dg] (code location agent_platform, as workspace.yaml names it)
    dg = str(Path(sys.executable).parent / "dg")
    command = [dg, "dev", "--target-path", str(REPO_ROOT), "--host", args.host, "--port", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    os.execv(dg, command)


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
    demo.add_argument("--days", type=int, default=settings.days + 30)
    demo.add_argument("--seed", type=int, default=settings.seed)
    demo.set_defaults(func=_cmd_demo)

    ui = sub.add_parser("ui", help="Dagster webserver and daemon on the platform's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=_cmd_ui)

    from orchestration.cli import archive, dbt, ml_engine, provisioning, quality

    for area in (quality, archive, provisioning, dbt, ml_engine):
        area.add_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
