"""Archive: old months of raw tables move from PostgreSQL (hot) to Parquet (warm, then cold).

Importing the package registers the guards that keep the raw layer from extracting an
archived month again (see ``guards.py``).
"""

from dagster import Definitions

from orchestration.defs.archive import guards
from orchestration.defs.archive.assets import (
    archive_assets,
    archive_monthly_job,
    archive_monthly_schedule,
    archive_storage_resource,
)

guards.register()

defs = Definitions(
    assets=archive_assets,
    jobs=[archive_monthly_job],
    schedules=[archive_monthly_schedule],
    resources={"archive_storage": archive_storage_resource()},
)
