"""The Kubernetes deployment (deploy/) on paper, checked without a cluster.

``deploy/dagster.yaml`` is loaded the way Dagster loads an instance, and every configured class
(K8sRunLauncher from dagster-k8s, the queue, the PostgreSQL storages) validates its own section
against its own schema. The Helm values must render that same instance, and the image, the queue
limits, the secrets and the environment must agree across the Dockerfile, the values, the instance,
the Makefile and the repository's own dagster.yaml.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import importlib.util
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterRun
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import ConfigurableClassData
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_k8s.job import construct_dagster_k8s_job
from kubernetes.client import ApiClient

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
# `helm upgrade --install agent-platform dagster/dagster ...` (docs/deploy.md): the chart names the
# instance ConfigMap after `<release>-<chart>` ("dagster" is not part of the release name).
RELEASE = "agent-platform"
CHART_FULLNAME = f"{RELEASE}-dagster"
CHART_DAGSTER_HOME = "/opt/dagster/dagster_home"  # the chart's global.dagsterHome default
# Variables that carry credentials: they reach pods only from the agent-platform-env secret.
SECRET_BORNE = ("PLATFORM_APP_DSN", "PLATFORM_WAREHOUSE_DSN", "PLATFORM_REPLICA_DSN", "PLATFORM_DAGSTER_DSN",
                "ANTHROPIC_API_KEY")
CONFIGURED_CLASSES = ("scheduler", "run_storage", "event_log_storage", "schedule_storage", "run_launcher",
                      "run_coordinator", "compute_logs")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def instance() -> dict[str, Any]:
    return _yaml(DEPLOY / "dagster.yaml")


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return _yaml(DEPLOY / "helm" / "values.yaml")


@pytest.fixture(scope="module")
def deployment(values: dict[str, Any]) -> dict[str, Any]:
    (only,) = values["dagster-user-deployments"]["deployments"]
    return only


def configured_class(section: dict[str, Any]) -> type:
    """The class a ``module``/``class`` section names, resolved as the instance resolves it
    (the chart writes ``dagster.core.…``, the private module is ``dagster._core.…``)."""
    data = ConfigurableClassData(section["module"], section["class"], "{}")
    return getattr(importlib.import_module(data.module_name), data.class_name)


def validate_section(instance: dict[str, Any], name: str) -> Any:
    section = instance[name]
    return process_config(configured_class(section).config_type(), section.get("config") or {})


# ---- the instance against Dagster's schemas ----------------------------------------------------


def test_instance_loads_as_dagster_loads_an_instance() -> None:
    config, custom_instance_class = dagster_instance_config(str(DEPLOY))
    assert custom_instance_class is None
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_retries"] == {"enabled": True, "max_retries": 2}
    assert config["run_monitoring"]["enabled"] is True


@pytest.mark.parametrize("name", CONFIGURED_CLASSES)
def test_each_configured_class_accepts_its_section(name: str, instance: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "placeholder")  # injected by the chart in the pods
    result = validate_section(instance, name)
    assert result.success, [error.message for error in result.errors]


def test_runs_are_launched_as_kubernetes_jobs(instance: dict[str, Any]) -> None:
    assert configured_class(instance["run_launcher"]) is K8sRunLauncher
    launcher = instance["run_launcher"]["config"]
    # runs use the image of the code server that launched them, never a pinned one
    assert "job_image" not in launcher
    assert launcher["instance_config_map"] == f"{CHART_FULLNAME}-instance"


def run_pod_manifest(instance: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The Kubernetes Job the instance's K8sRunLauncher builds for a run, as it would submit it.

    Only how the launcher reaches a cluster is replaced (a kubeconfig naming an unused local
    port): building the Job talks to no API server.
    """
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "none", "user": {}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
    }))
    config = {**instance["run_launcher"]["config"], "load_incluster_config": False,
              "kubeconfig_file": str(kubeconfig)}
    launcher = K8sRunLauncher(**config)
    context = launcher.get_container_context_for_run(DagsterRun(job_name="daily_pipeline_job", run_id="0" * 32))
    assert context.namespace == "agent-platform"
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image="user-code:sha", run_launcher=launcher),
        args=["dagster", "api", "execute_run"], job_name="dagster-run-0", pod_name="dagster-run-0",
        component="run_worker", user_defined_k8s_config=context.run_k8s_config, labels={}, env_vars=[])
    return ApiClient().sanitize_for_serialization(job)


def test_a_run_pod_gets_the_secrets_the_key_file_a_scratch_folder_and_its_size(
        instance: dict[str, Any], tmp_path: Path) -> None:
    pod = run_pod_manifest(instance, tmp_path)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["serviceAccountName"] == "agent-platform-dagster"
    assert container["image"] == "user-code:sha"
    assert {"secretRef": {"name": "agent-platform-env"}} in container["envFrom"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["DAGSTER_PG_PASSWORD"] == {"secretKeyRef": {"name": "dagster-postgresql-secret",
                                                           "key": "postgresql-password"}}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/var/secrets/google/key.json"
    assert env["ARCHIVE_URL"].startswith("gs://")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/var/secrets/google"]]["secret"] == {"secretName": "agent-platform-gcp"}
    assert "emptyDir" in volumes[mounts[dockerfile_env()["PLATFORM_HOME"]]]
    assert container["resources"] == instance["run_launcher"]["config"]["resources"]


def test_the_k8s_schema_rejects_what_the_launcher_would_not_understand(instance: dict[str, Any]) -> None:
    misspelt = copy.deepcopy(instance)
    misspelt["run_launcher"]["config"]["env_secret"] = misspelt["run_launcher"]["config"].pop("env_secrets")
    result = validate_section(misspelt, "run_launcher")
    assert not result.success
    assert "env_secret" in " ".join(error.message for error in result.errors)


def test_the_storage_password_is_read_from_the_environment(instance: dict[str, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_PG_PASSWORD", raising=False)
    result = validate_section(instance, "run_storage")
    assert not result.success
    assert "DAGSTER_PG_PASSWORD" in " ".join(error.message for error in result.errors)


# ---- the Helm values render this instance -------------------------------------------------------


def chart_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The instance sections Dagster's chart (1.13, templates/helpers/instance/) renders from ``values``,
    as class + config, for the options these values use."""
    pg = values["postgresql"]
    database = {"postgres_db": {
        "username": pg["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"], "db_name": pg["postgresqlDatabase"], "port": pg["service"]["port"],
        "params": pg.get("postgresqlParams", {}),
    }}
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    retries = values["dagsterDaemon"]["runRetries"]
    daemon = values["dagsterDaemon"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["computeLogManager"]["type"] == "NoOpComputeLogManager"
    return {
        "scheduler": ("dagster.core.scheduler", "DagsterDaemonScheduler", None),
        "run_storage": ("dagster_postgres.run_storage", "PostgresRunStorage", database),
        "event_log_storage": ("dagster_postgres.event_log", "PostgresEventLogStorage", database),
        "schedule_storage": ("dagster_postgres.schedule_storage", "PostgresScheduleStorage", database),
        "run_launcher": ("dagster_k8s", "K8sRunLauncher", {
            "load_incluster_config": launcher["loadInclusterConfig"],
            "job_namespace": launcher["jobNamespace"],
            "image_pull_policy": launcher["imagePullPolicy"],
            "service_account_name": values["global"]["serviceAccountName"],
            "dagster_home": CHART_DAGSTER_HOME,
            "instance_config_map": f"{CHART_FULLNAME}-instance",
            "postgres_password_secret": values["global"]["postgresqlSecretName"],
            "env_secrets": [secret["name"] for secret in launcher["envSecrets"]],
            "env_vars": launcher["envVars"],
            "volumes": launcher["volumes"],
            "volume_mounts": launcher["volumeMounts"],
            "resources": launcher["resources"],
            "labels": launcher["labels"],
        }),
        "run_coordinator": ("dagster.core.run_coordinator", "QueuedRunCoordinator", {
            "max_concurrent_runs": queue["maxConcurrentRuns"],
            "dequeue_interval_seconds": queue["dequeueIntervalSeconds"],
            "tag_concurrency_limits": queue["tagConcurrencyLimits"],
        }),
        "compute_logs": ("dagster.core.storage.noop_compute_log_manager", "NoOpComputeLogManager", None),
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "cancel_timeout_seconds": monitoring["cancelTimeoutSeconds"],
            "max_resume_run_attempts": monitoring["maxResumeRunAttempts"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        },
        "run_retries": {"enabled": retries["enabled"], "max_retries": retries["maxRetries"]},
        "sensors": {"use_threads": daemon["sensors"]["useThreads"], "num_workers": daemon["sensors"]["numWorkers"]},
        "schedules": {"use_threads": daemon["schedules"]["useThreads"],
                      "num_workers": daemon["schedules"]["numWorkers"]},
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


def test_the_values_render_this_instance(instance: dict[str, Any], values: dict[str, Any]) -> None:
    rendered = chart_instance(values)
    assert set(instance) == set(rendered)
    for name, expected in rendered.items():
        if isinstance(expected, tuple):
            module, class_name, config = expected
            assert configured_class(instance[name]) is configured_class({"module": module, "class": class_name}), name
            assert instance[name].get("config") == config, name
        else:
            assert instance[name] == expected, name


def test_the_queue_is_the_repositorys_queue(instance: dict[str, Any]) -> None:
    """The same limits. The chart's webserver and daemon run Dagster's image, not the platform's, so
    the queue there is Dagster's own, of which the repository's (which also tags runs from an asset's
    page, orchestration/lib/run_coordinator.py) is a subclass (docs/deploy.md says what that leaves)."""
    local = _yaml(REPO_ROOT / "dagster.yaml")
    from dagster._core.run_coordinator import QueuedRunCoordinator

    from orchestration.lib.run_coordinator import PlatformRunCoordinator

    assert configured_class(local["run_coordinator"]) is PlatformRunCoordinator
    assert configured_class(instance["run_coordinator"]) is QueuedRunCoordinator
    assert instance["run_coordinator"]["config"] == local["run_coordinator"]["config"]
    assert instance["run_retries"] == local["run_retries"]


# ---- one image, one code location, the same environment for the server and its runs ------------


def test_the_code_server_serves_the_projects_code_location(deployment: dict[str, Any]) -> None:
    module = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    (workspace_entry,) = _yaml(REPO_ROOT / "workspace.yaml")["load_from"]
    assert workspace_entry["python_module"]["module_name"] == module == "orchestration.definitions"
    args = deployment["codeServerArgs"]
    assert args[args.index("--module-name") + 1] == module
    # the location name the webserver's workspace uses is the deployment's name
    assert args[args.index("--location-name") + 1] == deployment["name"]
    assert dockerfile_cmd()[:3] == ["dagster", "code-server", "start"]
    assert dockerfile_cmd()[dockerfile_cmd().index("--module-name") + 1] == module


def test_the_makefile_builds_the_image_the_values_deploy(deployment: dict[str, Any], values: dict[str, Any]) -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    image = re.search(r"^IMAGE\s*\?=\s*(\S+)", makefile, re.MULTILINE)
    assert image is not None and image.group(1) == deployment["image"]["repository"]
    assert "-f deploy/Dockerfile" in makefile
    assert "image" not in values["runLauncher"]["config"]["k8sRunLauncher"]


def _env_pairs(entries: list[str]) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in entries)


def test_runs_get_the_code_servers_environment_secrets_and_volumes(
        deployment: dict[str, Any], values: dict[str, Any]) -> None:
    # the code server's config is not copied into runs: the run launcher must carry the same
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": False}
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert {e["name"]: e["value"] for e in deployment["env"]} == _env_pairs(launcher["envVars"])
    assert deployment["envSecrets"] == launcher["envSecrets"]
    assert deployment["volumeMounts"] == launcher["volumeMounts"]
    secrets = {v["name"]: v["secret"] for v in deployment["volumes"] if "secret" in v}
    assert secrets == {v["name"]: v["secret"] for v in launcher["volumes"] if "secret" in v}
    assert {v["name"] for v in deployment["volumes"]} == {v["name"] for v in launcher["volumes"]}


def test_production_settings_reach_the_pods_and_no_secret_is_written_down(
        instance: dict[str, Any], deployment: dict[str, Any]) -> None:
    env = _env_pairs(instance["run_launcher"]["config"]["env_vars"])
    server_env = {entry["name"] for entry in deployment["env"]}
    documented = set(re.findall(r"^\| `([A-Z_]+)`", (REPO_ROOT / "README.md").read_text(), re.MULTILINE))
    assert set(SECRET_BORNE) <= documented  # the platform's own variables (README, "Environment variables")
    assert not set(SECRET_BORNE) & (set(env) | server_env), "credentials come from the agent-platform-env secret"
    assert instance["run_launcher"]["config"]["env_secrets"] == ["agent-platform-env"]
    assert env["ARCHIVE_URL"].startswith("gs://")
    assert env["BIGQUERY_PROJECT"]
    assert "BIGQUERY_API_ENDPOINT" not in env  # an emulator endpoint would bypass the credentials
    # the key file is a mounted secret, at the path GOOGLE_APPLICATION_CREDENTIALS names
    mounts = {m["name"]: m["mountPath"] for m in instance["run_launcher"]["config"]["volume_mounts"]}
    volumes = {v["name"]: v for v in instance["run_launcher"]["config"]["volumes"]}
    key_dir = str(Path(env["GOOGLE_APPLICATION_CREDENTIALS"]).parent)
    (key_volume,) = [name for name, path in mounts.items() if path == key_dir]
    assert volumes[key_volume]["secret"]["secretName"] == "agent-platform-gcp"
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Dockerfile"]:
        text = path.read_text()
        assert not re.search(r"://[^/\s:@]+:[^@\s/]+@", text), f"{path} holds a DSN with a password"
        assert "sk-ant-" not in text, f"{path} holds an Anthropic key"


# ---- the Dockerfile -----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(parts[0].upper(), parts[1].strip()) for line in joined.splitlines()
            if (parts := line.strip().split(None, 1)) and len(parts) == 2]


def dockerfile_env() -> dict[str, str]:
    pairs = [word.split("=", 1) for instruction, args in dockerfile_instructions() if instruction == "ENV"
             for word in shlex.split(args)]
    return {name: value for name, value in pairs}


def dockerfile_cmd() -> list[str]:
    (cmd,) = [args for instruction, args in dockerfile_instructions() if instruction == "CMD"]
    return list(json.loads(cmd))


def _dockerignored(path: str) -> bool:
    patterns = [p.strip() for p in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError):  # a parent that is missing, or a module and not a package
        return False


def test_the_dockerfile_builds_the_code_location_with_the_lock_and_no_secrets() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for instruction, args in instructions if instruction == "RUN")
    assert "-c requirements.lock" in runs
    assert re.search(r"python -m \S+prepare|dbt-prepare", runs), "the build prepares the dbt manifest"
    # editable, as `make install`: foundation/settings.py finds dbt_project/ beside the package
    assert "-e ." in runs
    declared = set(dockerfile_env()) | {
        name.split("=", 1)[0] for instruction, args in instructions if instruction == "ARG"
        for name in shlex.split(args)
    }
    assert not declared & {*SECRET_BORNE, "GOOGLE_APPLICATION_CREDENTIALS", "DAGSTER_PG_PASSWORD"}
    copied = [src for instruction, args in instructions if instruction == "COPY" for src in shlex.split(args)[:-1]]
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
        assert not _dockerignored(source), f"{source} is excluded from the build context by .dockerignore"
    # every package the project installs, and dbt_project/, reach the image
    assert "." in copied
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = [pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    for needed in [*packages, "dbt_project", "dagster.yaml"]:
        assert (REPO_ROOT / needed).exists() and not _dockerignored(needed), needed
    # the modules the build runs exist (a move of the dbt preparation must move this line too)
    for module in re.findall(r"python -m ([\w.]+)", runs):
        assert _module_exists(module), f"the Dockerfile runs a missing module: {module}"
    user = [args for instruction, args in instructions if instruction == "USER"]
    assert user and user[-1] not in ("root", "0")


# ---- the executors of the heavy jobs, and the queue against the jobs ---------------------------


@pytest.fixture(scope="module")
def jobs() -> dict[str, Any]:
    from orchestration.definitions import defs

    return {job.name: job for job in defs.get_repository_def().get_all_jobs()}


def test_heavy_jobs_have_a_valid_k8s_job_executor_config(jobs: dict[str, Any]) -> None:
    executors = _yaml(DEPLOY / "k8s_job_executor.yaml")
    assert set(executors) == {"daily_pipeline_job", "ml_training_job"}
    for job_name, config in executors.items():
        assert job_name in jobs
        result = process_config(k8s_job_executor.config_schema.config_type, config)
        assert result.success, (job_name, [error.message for error in result.errors])


@pytest.mark.parametrize("key", [
    "platform/provisioning",
    "platform/archive",
    "platform/housekeeping",
    "platform/realtime",
    "platform/dbt",
])
def test_each_queue_limit_binds_the_runs_it_is_for(key: str, instance: dict[str, Any], jobs: dict[str, Any]) -> None:
    assert key in {limit["key"] for limit in instance["run_coordinator"]["config"]["tag_concurrency_limits"]}
    assert any(key in job.tags for job in jobs.values()), f"no job tags its runs {key}"


def test_the_image_starts_no_warm_server_for_runs_it_never_runs() -> None:
    """Runs are Kubernetes Jobs (K8sRunLauncher), not workers of the code server: a warm server in the
    code server's pod (orchestration/lib/run_workers.py) would hold memory for nothing."""
    from orchestration.lib.run_workers import MODE_VARIABLE

    assert dockerfile_env()[MODE_VARIABLE] == "spawn"
