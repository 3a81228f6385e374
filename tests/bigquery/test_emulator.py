"""The local emulator's lifecycle: one process per PLATFORM_HOME, reused, persistent, stopped by pid."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from foundation.settings import Settings
from orchestration.stack.bigquery import emulator_paths, ensure_emulator, running_emulator, stop_emulator
from tests.bigquery_fixtures import BigQueryEmulator


def test_emulator_runs_under_platform_home(bigquery: BigQueryEmulator, platform: Settings) -> None:
    paths = emulator_paths(platform)
    assert paths.root == platform.home / "bigquery"
    assert os.environ["BIGQUERY_API_ENDPOINT"] == bigquery.endpoint
    assert bigquery.endpoint.startswith("http://127.0.0.1:")
    pid = int(paths.pid_file.read_text())
    assert json.loads(paths.state_file.read_text())["pid"] == pid
    assert paths.log_file.exists() and (paths.data_dir / "bqemulator.duckdb").exists()


def test_second_ensure_reuses_the_running_emulator(bigquery: BigQueryEmulator, platform: Settings) -> None:
    pid = emulator_paths(platform).pid_file.read_text()
    assert ensure_emulator(platform) == bigquery.endpoint
    assert emulator_paths(platform).pid_file.read_text() == pid


def test_data_survives_a_restart(tmp_path: Path, platform: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # A second emulator in its own home, so the session emulator keeps its endpoint.
    monkeypatch.delenv("BIGQUERY_API_ENDPOINT", raising=False)  # restored after the test
    settings = dataclasses.replace(platform, home=tmp_path, bigquery_endpoint=None)
    endpoint = ensure_emulator(settings)
    try:
        client = BigQueryEmulator(endpoint, settings.bigquery_project, settings.bigquery_location).client()
        client.create_dataset(f"{settings.bigquery_project}.kept")
        client.query(f"CREATE TABLE `{settings.bigquery_project}.kept.t` AS SELECT 42 AS answer").result()
        pid = emulator_paths(settings).pid_file.read_text()
        assert stop_emulator(settings) is True
        assert running_emulator(settings) is None and not emulator_paths(settings).pid_file.exists()
        assert "BIGQUERY_API_ENDPOINT" not in os.environ

        again = ensure_emulator(settings)
        assert emulator_paths(settings).pid_file.read_text() != pid
        assert again == endpoint  # the previous port is reused when free
        client = BigQueryEmulator(again, settings.bigquery_project, settings.bigquery_location).client()
        rows = list(client.query(f"SELECT answer FROM `{settings.bigquery_project}.kept.t`").result())  # noqa: S608
        assert [r["answer"] for r in rows] == [42]
    finally:
        stop_emulator(settings)
    assert stop_emulator(settings) is False
