"""Provisioning: requests → sensor → one run per request → ``provisioning/provisioned_demo``.

Resources: ``app_db`` (PostgresResource) comes from ``orchestration.resources`` and ``bigquery``
(BigQueryResource) from ``orchestration.defs.exports``; ``provisioning`` (``ProvisioningSettings``:
row scale, limits) is this package's own.
"""

from dagster import Definitions

from orchestration.defs.provisioning.assets import provisioned_demo
from orchestration.defs.provisioning.resources import ProvisioningSettings
from orchestration.defs.provisioning.sensors import provisioning_job, provisioning_requests_sensor

defs = Definitions(
    assets=[provisioned_demo],
    jobs=[provisioning_job],
    sensors=[provisioning_requests_sensor],
    resources={"provisioning": ProvisioningSettings()},
)
