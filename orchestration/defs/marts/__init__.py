"""Analytics marts in dbt: staging views, marts, ML features and export-shaped tables.

The dbt project is ``dbt_project/``; its sources are the raw layer's tables, so the
assets here continue the raw lineage. The postgres resources come from
``orchestration.resources``; this package only adds the ``dbt`` resource.
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.marts.assets import daily_marts, dbt_project, marts
from orchestration.defs.marts.project import dbt_executable

defs = dg.Definitions(
    assets=[daily_marts, marts],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())},
)
