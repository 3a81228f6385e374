"""Quality layer: Great Expectations suites as asset checks, quarantine, scorecard, Data Docs.

Importing this package registers the quarantine in the raw layer's after-load hooks, so
every raw materialization moves the bad rows of its window to ``quarantine.<table>``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from dagster import AssetChecksDefinition, AssetKey, Definitions, define_asset_job

from orchestration.defs.quality.assets import scorecard
from orchestration.defs.quality.checks import build_suite_checks, raw_quality_checks
from orchestration.defs.raw.assets import AFTER_LOAD_HOOKS
from orchestration.partitions import daily_partitions
from quality.quarantine import quarantine_after_load
from quality.rules import MART_SUITES

log = logging.getLogger(__name__)


def install_quarantine_hook() -> None:
    if quarantine_after_load not in AFTER_LOAD_HOOKS:
        AFTER_LOAD_HOOKS.append(quarantine_after_load)


install_quarantine_hook()


def mart_quality_checks() -> list[AssetChecksDefinition]:
    """Checks of the key marts the dbt project defines, partitioned exactly like each mart asset."""
    try:
        from orchestration.defs.marts import defs as marts_defs
    except Exception as error:  # noqa: BLE001 - the marts are optional for the quality layer
        log.warning("dbt marts unavailable, their quality checks are left out: %s", error)
        return []
    partitioned: dict[AssetKey, bool] = {}
    for assets_def in marts_defs.assets or []:
        for key in getattr(assets_def, "keys", []):
            partitioned[key] = getattr(assets_def, "partitions_def", None) is not None
    checks = []
    for suite in MART_SUITES.values():
        key = AssetKey(list(suite.asset_key))
        if key in partitioned:
            # a mart built whole is validated whole, whatever the suite assumed
            checks.append(build_suite_checks(suite if partitioned[key] else replace(suite, partition_column=None)))
    return checks


scorecard_job = define_asset_job("quality_scorecard_job", selection=[scorecard], partitions_def=daily_partitions,
                                 description="Compute the data-quality scorecard of a day.")

defs = Definitions(
    assets=[scorecard],
    asset_checks=[*raw_quality_checks, *mart_quality_checks()],
    jobs=[scorecard_job],
)
