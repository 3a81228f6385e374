"""A model artifact is unpickled only when its HMAC signature verifies: a tampered row cannot run code."""

from __future__ import annotations

import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pytest

from foundation.settings import ENVIRONMENT, REPO_ROOT, SECRET_VARIABLES, Settings
from ml import MODEL_CACHE, PostgresML
from ml.errors import ArtifactSignatureError, InvalidArgumentError
from tests.ml.conftest import load_table

KEY_VARIABLE = "PLATFORM_MODEL_SIGNING_KEY"


class _RunsACommand:
    """What an attacker with write access to pgml.models would store: unpickling runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def relation(warehouse: psycopg.Connection) -> str:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    y = x[:, 0] * 2 + x[:, 1]
    return load_table(warehouse, "signing", {"x1": x[:, 0], "x2": x[:, 1], "y": y},
                      {"x1": "float8", "x2": "float8", "y": "float8"})


def _trained(ml: PostgresML, project: str, relation: str) -> int:
    result = ml.train(project, "regression", relation, "y", algorithm="linear")
    assert result.model_id is not None
    MODEL_CACHE.clear()  # the next prediction reads the artifact from the catalog
    return result.model_id


def test_a_tampered_artifact_is_refused_before_it_is_unpickled(
    ml: PostgresML, warehouse: psycopg.Connection, relation: str, tmp_path: Path
) -> None:
    model_id = _trained(ml, "signing_tampered", relation)
    marker = tmp_path / "pwned"
    warehouse.execute("UPDATE pgml.models SET artifact = %s WHERE id = %s",
                      (pickle.dumps(_RunsACommand(marker)), model_id))
    with pytest.raises(ArtifactSignatureError, match=f"model {model_id} of project `signing_tampered`.*signature"):
        ml.predict("signing_tampered", [0.1, 0.2])
    assert not marker.exists(), "the tampered pickle ran"


def test_a_missing_signature_and_a_foreign_key_are_refused(
    ml: PostgresML, warehouse: psycopg.Connection, relation: str, platform: Settings
) -> None:
    model_id = _trained(ml, "signing_missing", relation)
    assert ml.predict("signing_missing", [0.1, 0.2]) == pytest.approx(0.4, abs=0.05)
    MODEL_CACHE.clear()
    other = PostgresML(platform.warehouse_dsn or "", signing_key="another key of the right length")
    with other, pytest.raises(ArtifactSignatureError, match="does not match"):
        other.predict("signing_missing", [0.1, 0.2])
    warehouse.execute("UPDATE pgml.models SET artifact_signature = NULL WHERE id = %s", (model_id,))
    MODEL_CACHE.clear()
    with pytest.raises(ArtifactSignatureError, match="has no signature"):
        ml.predict("signing_missing", [0.1, 0.2])


def test_a_signed_artifact_moved_to_another_project_is_refused(
    ml: PostgresML, warehouse: psycopg.Connection, relation: str
) -> None:
    source = _trained(ml, "signing_source", relation)
    target = _trained(ml, "signing_target", relation)
    warehouse.execute(
        "UPDATE pgml.models AS t SET artifact = s.artifact, artifact_signature = s.artifact_signature "
        "FROM pgml.models AS s WHERE s.id = %s AND t.id = %s", (source, target))
    with pytest.raises(ArtifactSignatureError):
        ml.predict("signing_target", [0.1, 0.2])


def test_the_library_needs_a_real_key(platform: Settings) -> None:
    with pytest.raises(InvalidArgumentError, match="at least 16"):
        PostgresML(platform.warehouse_dsn or "", signing_key="short")


def test_an_old_catalog_gains_the_signature_column(scratch_database: Callable[[str], str]) -> None:
    from ml import catalog

    dsn = scratch_database("ml_catalog_upgrade")
    with psycopg.connect(dsn, autocommit=True) as conn:
        catalog.ensure_catalog(conn)
        conn.execute("ALTER TABLE pgml.models DROP COLUMN artifact_signature")
        catalog._ensured.discard(catalog._database_key(conn))  # a new process on an old catalog
        catalog.ensure_catalog(conn)
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'pgml' AND table_name = 'models'")}
    assert "artifact_signature" in columns


def test_the_embedded_stack_generates_the_key_once_private_and_exports_it(platform: Settings) -> None:
    from orchestration.stack.postgres import embedded_model_signing_key

    key_file = platform.home / "secrets" / "model_signing_key"
    assert os.environ[KEY_VARIABLE] == key_file.read_text().strip() == platform.model_signing_key
    assert len(platform.model_signing_key or "") >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert embedded_model_signing_key(platform.home) == platform.model_signing_key  # generated once
    assert platform.model_signing_key not in repr(platform)


def test_the_key_variable_is_a_documented_secret() -> None:
    assert KEY_VARIABLE in ENVIRONMENT and KEY_VARIABLE in SECRET_VARIABLES
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"| `{KEY_VARIABLE}` |" in readme
    assert "artifact" in (REPO_ROOT / "docs" / "ml.md").read_text().split("## Artifact signing", 1)[1][:2000]
