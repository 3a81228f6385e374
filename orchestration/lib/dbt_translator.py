"""How dbt resources appear in the asset graph: keys, groups and descriptions.

- dbt sources are the raw layer: source ``raw.<table>`` is asset ``raw/<table>``, so
  raw -> staging -> marts reads as one lineage.
- models are keyed by the schema they live in (``staging/``, ``marts/``,
  ``ml_features/``); the export-shaped marts live in ``marts`` too, which keeps the
  ``exports/*`` keys free for the BigQuery tables built from them.
- groups follow the dbt folders: staging, marts, ml_features, exports.
- models tagged ``daily`` (the incremental marts) are partitioned by day like the raw layer;
  everything else is built whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec, PartitionsDefinition
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from foundation.catalog import RAW_SCHEMA
from orchestration.lib.partitions import daily_partitions

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

DAILY_TAG = "daily"
MODEL_GROUPS = ("staging", "marts", "ml_features", "exports")
_KEY_PREFIX_BY_GROUP = {"staging": "staging", "marts": "marts", "ml_features": "ml_features", "exports": "marts"}


def _model_folder(props: Mapping[str, Any]) -> str:
    fqn = props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else ""


class MartsTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # dbt source tests (not_null on each raw key) become checks on the raw assets, not observations
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        resource_type = dbt_resource_props["resource_type"]
        name = dbt_resource_props["name"]
        if resource_type == "source":
            return AssetKey([RAW_SCHEMA, name])
        if resource_type == "seed":
            return AssetKey(["reference", name])
        group = self.get_group_name(dbt_resource_props) or "marts"
        return AssetKey([_KEY_PREFIX_BY_GROUP.get(group, group), name])

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetCheckSpec | None:
        """dbt's tests as checks; a source test gates nothing outside dbt's own build.

        dagster-dbt makes every error-severity test a blocking check. A blocking check is an
        execution dependency of everything downstream of its asset, and a source test runs in the
        ``marts`` step: the raw loads downstream of a raw table (the quarantine cascade,
        ``raw/agents`` after ``raw/specialties``) would wait on the ``marts`` step, which waits on
        them. Dagster breaks that cycle by cutting ``marts`` into one dbt invocation per depth of
        the raw chain (eight invocations of dbt per day, each paying dbt's start-up). The raw
        loads are gated by their own Great Expectations checks (``id_complete`` is the same rule);
        inside the ``marts`` step dbt itself skips the models downstream of a failed source test.
        """
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is not None and spec.blocking and spec.asset_key.path[0] == RAW_SCHEMA:  # a source's test
            return spec._replace(blocking=False)
        return spec

    def get_partitions_def(self, dbt_resource_props: Mapping[str, Any]) -> PartitionsDefinition | None:
        if dbt_resource_props["resource_type"] == "model" and DAILY_TAG in dbt_resource_props.get("tags", []):
            return daily_partitions
        return None

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None  # raw assets belong to the raw package's group
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"
        folder = _model_folder(dbt_resource_props)
        return folder if folder in MODEL_GROUPS else "marts"

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        description = (dbt_resource_props.get("description") or "").strip()
        return description or f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
