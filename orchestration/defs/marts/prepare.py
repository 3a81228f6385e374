"""Build the dbt manifest Dagster loads: ``python -m orchestration.defs.marts.prepare``."""

from __future__ import annotations

import logging

from orchestration.defs.marts.project import DBT_PROJECT_DIR, prepare_manifest


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    prepare_manifest()
    logging.getLogger(__name__).info("dbt manifest ready in %s", DBT_PROJECT_DIR / "target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
