"""Every resource of the code location, bound once under the key the definitions ask for."""

import dagster as dg

from orchestration.lib.dbt_project import platform_dbt
from orchestration.lib.resources import (
    ProvisioningSettings,
    archive_storage_resource,
    bigquery_resource,
    postgres_resources,
)

defs = dg.Definitions(resources={
    # app_db, warehouse_db, replica_db: PLATFORM_*_DSN, resolved at run time
    **postgres_resources(),
    "bigquery": bigquery_resource(),  # exports and provisioned demos share one client configuration
    "archive_storage": archive_storage_resource(),
    "dbt": platform_dbt(dg.EnvVar("PLATFORM_WAREHOUSE_DSN")),
    "provisioning": ProvisioningSettings(),
})
