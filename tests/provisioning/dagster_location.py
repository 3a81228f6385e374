"""A code location for the daemon test: the provisioning definitions on the tests' databases."""

from __future__ import annotations

from dagster import Definitions, EnvVar

from orchestration.defs.provisioning.assets import provisioned_demo
from orchestration.defs.provisioning.sensors import provisioning_job, provisioning_requests_sensor
from orchestration.lib.resources import BigQueryResource, PostgresResource, ProvisioningSettings

APP_DSN_VARIABLE = "PROVISIONING_TEST_APP_DSN"


def location_definitions(app_dsn: str | None = None, bigquery: BigQueryResource | None = None) -> Definitions:
    return Definitions(
        assets=[provisioned_demo],
        jobs=[provisioning_job],
        sensors=[provisioning_requests_sensor],
        resources={
            "app_db": PostgresResource(dsn=app_dsn or EnvVar(APP_DSN_VARIABLE)),
            "bigquery": bigquery or BigQueryResource(project="agent-platform-local"),
            "provisioning": ProvisioningSettings(row_scale=0.02, allow_hosts=["127.0.0.1"]),
        },
    )


defs = location_definitions()
