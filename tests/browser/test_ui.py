"""The Dagster UI after a tiny demo, as a person sees it in a real browser.

One fixture runs ``platform demo`` (tiny scale, the daily pipeline over a few days) on an instance
of its own, starts the webserver and the Data Docs server on it, and Debian's chromium, driven by
Playwright (which downloads no browser here), opens the pages a data engineer checks first.
Screenshots land in ``tests/browser/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from foundation.settings import REPO_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
DEMO_DAYS = 3
# What the demo leaves out to stay small: its first step, the daily pipeline, is what these pages show.
DEMO_SKIP = "ml,exports,archive,provisioning,housekeeping"


@dataclass(frozen=True)
class DemoUI:
    url: str
    docs_url: str
    run_id: str
    days: list[str]
    demo_seconds: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(home: Path, docs_url: str) -> dict[str, str]:
    """The session's environment without its stack: the demo starts an embedded one of its own."""
    kept = {k: v for k, v in os.environ.items()
            if not (k.startswith(("PLATFORM_", "BIGQUERY_", "DAGSTER_")) or k in ("ARCHIVE_URL",))}
    return {**kept, "PLATFORM_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
            "PLATFORM_TODAY": os.environ["PLATFORM_TODAY"], "PLATFORM_DATA_DOCS_URL": docs_url,
            "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "true"}


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")
        time.sleep(1)


@pytest.fixture(scope="module")
def demo_ui() -> Iterator[DemoUI]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make system-packages` installs it"
    home = Path(tempfile.mkdtemp(prefix="plt-ui-", dir="/tmp"))
    os.chmod(home, 0o755)
    docs_url, port = f"http://127.0.0.1:{_free_port()}", _free_port()
    env = _environment(home, docs_url)
    platform = [sys.executable, "-m", "orchestration.cli"]
    ui, log = None, open(home / "ui.log", "w")  # noqa: SIM115 - closed below
    try:
        started = time.perf_counter()
        demo = subprocess.run([*platform, "demo", "--scale", "tiny", "--days", str(DEMO_DAYS), "--skip", DEMO_SKIP,
                               "--defect-rate", "0"],
                              env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False)
        seconds = time.perf_counter() - started
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        run_id = re.search(r"daily pipeline .*\(run ([0-9a-f]{8})\)", demo.stdout)
        assert run_id, demo.stdout[-3000:]
        # `platform ui` as `make ui` runs it (webserver and Data Docs server), without the daemon: nothing
        # refreshes today while the pages are read
        ui = subprocess.Popen([*platform, "ui", "--without-daemon", "--port", str(port)], env=env, cwd=REPO_ROOT,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for(f"http://127.0.0.1:{port}/server_info", timeout=180)
        except TimeoutError:
            log.flush()
            raise AssertionError((home / "ui.log").read_text()[-3000:]) from None
        today = date.fromisoformat(os.environ["PLATFORM_TODAY"])
        days = [(today - timedelta(days=back)).isoformat() for back in range(DEMO_DAYS, 0, -1)]
        yield DemoUI(f"http://127.0.0.1:{port}", docs_url, run_id.group(1), days, seconds)
    finally:
        if ui is not None and ui.poll() is None:
            os.killpg(ui.pid, signal.SIGINT)  # as Ctrl-C: the webserver and the Data Docs server stop
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
                ui.wait()
        log.close()
        subprocess.run([*platform, "down"], env=env, cwd=REPO_ROOT, capture_output=True, timeout=120, check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(demo_ui: DemoUI) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = chromium.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(demo_ui.url + "/overview")
        # Dagster asks a first visitor on localhost to join its community, a second after load: skip it
        skip = page.get_by_role("button", name="Skip")
        try:
            skip.wait_for(state="visible", timeout=15_000)
            skip.click()
        except Exception:  # noqa: BLE001 - shown once per instance; already dismissed is fine
            pass
        yield page
        context.close()
        chromium.close()


def _open(page, url: str, text: str, shot: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.get_by_text(text, exact=False).first.wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"))
    return str(page.inner_text("body"))


def test_the_asset_graph_renders(browser, demo_ui: DemoUI) -> None:  # type: ignore[no-untyped-def]
    page = browser
    _open(page, demo_ui.url + "/asset-groups", "Global asset lineage", "asset_graph")
    for group in ("raw", "staging", "marts", "quality"):
        assert page.get_by_text(group, exact=True).first.is_visible(), group
    assert page.locator("svg").count() > 0


def test_a_day_of_raw_tasks_shows_its_checks_passed(browser, demo_ui: DemoUI) -> None:  # type: ignore[no-untyped-def]
    """The demo's last day is raw/tasks' latest partition: its check results all succeeded (not
    "skipped", as a range run's days read when the run reported one result for the whole window)."""
    page, day = browser, demo_ui.days[-1]
    _open(page, f"{demo_ui.url}/assets/raw/tasks", "Latest check results", "raw_tasks")
    assert page.get_by_text(day, exact=True).first.is_visible()
    page.get_by_text("Latest check results").locator("xpath=..").locator("span, button, div").last.hover()
    page.get_by_text("Succeeded checks").wait_for(state="visible")
    page.screenshot(path=str(SCREENSHOTS / "raw_tasks_checks.png"))
    body = page.inner_text("body")
    assert "Skipped checks" not in body and "Failed checks" not in body
    assert "id_unique" in body and "revenue_non_negative" in body
    # every day of the range run, one check's history by partition: all passed, none skipped
    body = _open(page, f"{demo_ui.url}/assets/raw/tasks?view=checks&checkDetail=id_unique", "Execution history",
                 "raw_tasks_check")
    page.get_by_text("Partitions", exact=True).last.click()
    page.get_by_text("Skipped (0)").wait_for(state="visible")
    page.screenshot(path=str(SCREENSHOTS / "raw_tasks_check_partitions.png"))
    assert f"Passed ({len(demo_ui.days)})" in page.inner_text("body")


def test_the_daily_pipeline_job_lists_its_run(browser, demo_ui: DemoUI) -> None:  # type: ignore[no-untyped-def]
    page = browser
    body = _open(page, demo_ui.url + "/locations/agent_platform/jobs/daily_pipeline_job/runs", demo_ui.run_id,
                 "daily_pipeline_job_runs")
    assert demo_ui.run_id in body and "No runs found" not in body
    # it was launched for the code location: on the timeline, and it can be re-executed from its page
    page.get_by_text(demo_ui.run_id).first.click()
    page.get_by_role("button", name=re.compile("Re-execute")).first.wait_for(state="visible")
    page.screenshot(path=str(SCREENSHOTS / "daily_pipeline_run.png"))
    assert page.get_by_role("button", name=re.compile("Re-execute")).first.is_enabled()
    _open(page, demo_ui.url + "/overview/activity/timeline", "daily_pipeline_job", "timeline")


def test_a_dbt_model_shows_column_types_and_a_row_count(browser, demo_ui: DemoUI) -> None:  # type: ignore[no-untyped-def]
    page = browser
    body = _open(page, demo_ui.url + "/assets/marts/agent_leaderboard", "Columns", "dbt_model")
    assert re.search(r"Row count\s+\d+", body), body[:3000]
    columns = body[body.index("Columns"):]
    assert re.search(r"agent_id\s+integer", columns) and re.search(r"industry\s+text", columns), columns[:2000]
    assert "(unserializable)" not in body


def test_data_docs_open_over_http(demo_ui: DemoUI) -> None:
    with urllib.request.urlopen(demo_ui.docs_url + "/index.html", timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status == 200 and b"Data Docs" in answer.read()
