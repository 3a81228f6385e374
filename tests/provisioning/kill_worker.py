"""A provisioning worker that is killed (``os._exit``, no clean-up) when it reaches a given node.

``python -m tests.provisioning.kill_worker DSN ENDPOINT PROJECT WORK_DIR REQUEST_ID NODE``: what a
run process looks like to the checkpointer when the machine or the run worker dies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agents.llm import UsageRecorder, get_provider
from agents.provisioning import ProvisioningDeps, provision_request
from agents.provisioning.state import ProvisioningState
from datamove.bigquery import make_client
from tests.provisioning.conftest import TEST_ROW_SCALE, TEST_URL_POLICY

KILLED_EXIT_CODE = 137


def main(argv: list[str]) -> None:
    dsn, endpoint, project, work_dir, request_id, kill_at = argv

    def die(node: str, state: ProvisioningState) -> None:
        if node == kill_at:
            os._exit(KILLED_EXIT_CODE)

    deps = ProvisioningDeps(
        app_dsn=dsn, bigquery_client=make_client(project, "US", endpoint),
        provider=get_provider(recorder=UsageRecorder(dsn)), work_dir=Path(work_dir),
        url_policy=TEST_URL_POLICY, row_scale=TEST_ROW_SCALE, before_node=die,
    )
    provision_request(int(request_id), deps)


if __name__ == "__main__":
    main(sys.argv[1:])
