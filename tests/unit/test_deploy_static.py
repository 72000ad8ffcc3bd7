"""Static checks of docker-compose.yml, deploy/k8s and the Dockerfiles (no Docker engine needed).

Everything is driven by the folders under ``services/``: adding a service without deploying it,
or removing one from compose or Kubernetes, fails here. Each check is a function that returns
the problems it finds, so the same function is also run against deliberately broken copies to
prove that it catches what it claims to.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKER = DEPLOY / "docker"
ENV_EXAMPLE = DEPLOY / ".env.example"

SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
PORTS = {
    "gateway": 8000,
    "datasets": 8001,
    "trainer": 8002,
    "evaluator": 8003,
    "llm": 8004,
    "audit": 8005,
}
PUBLISHED = {"gateway"}
HEALTHY_INFRA = ("kafka", "postgres", "redis", "s3proxy")
INFRA_IMAGES = {
    "kafka": re.compile(r"^apache/kafka:4\."),
    "postgres": re.compile(r"^postgres:16"),
    "redis": re.compile(r"^redis:7"),
    "s3proxy": re.compile(r"^(andrewgaul/s3proxy|zenko/cloudserver)[:@]"),
    "otel-collector": re.compile(r"^otel/opentelemetry-collector-contrib:"),
}
# The MinIO server is AGPL: policy forbids its image (the Python client is fine).
FORBIDDEN_IMAGE = re.compile(r"(^|[\s/\"'])(minio/minio|quay\.io/minio)\b", re.IGNORECASE)
DISTRIBUTED_ENV = {
    "SDS_RUNTIME": "distributed",
    "SDS_BUS": "kafka",
    "SDS_STORAGE": "s3",
    "SDS_OTEL_EXPORTER": "otlp",
    "SDS_OTEL_ENDPOINT": "http://otel-collector:4318",
    "SDS_LOG_FORMAT": "json",
    "SDS_HTTP_HOST": "0.0.0.0",
}
CONNECTION_ENV = (
    "SDS_KAFKA_BOOTSTRAP_SERVERS",
    "SDS_DATABASE_URL",
    "SDS_S3_ENDPOINT",
    "SDS_S3_ACCESS_KEY",
    "SDS_S3_SECRET_KEY",
    "SDS_S3_BUCKET",
    "SDS_REDIS_URL",
)
SECRETISH = re.compile(r"(SECRET|PASSWORD|CREDENTIAL|API_KEY|ACCESS_KEY)")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(:?[-?+][^}]*)?\}")
REQUIRED_SECRETS = ("SDS_AUTH_SECRETS",)

Problems = list[str]


# --------------------------------------------------------------------------- loading


def _load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def _k8s_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in {".yaml", ".yml"})


def _k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in _k8s_files():
        if path.name == "kustomization.yaml" or ".template." in path.name:
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def _kind(docs: list[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    return (d for d in docs if d.get("kind") == kind)


def _env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


# --------------------------------------------------------------------------- compose checks


def compose_service_problems(compose: dict[str, Any]) -> Problems:
    """Every folder under services/ runs in compose, configured for the distributed stack."""
    problems: Problems = []
    services = compose.get("services") or {}
    for name in SERVICES:
        svc = services.get(name)
        if svc is None:
            problems.append(f"compose: service {name!r} is missing")
            continue
        port = PORTS[name]
        if _command(svc.get("command")) != f"python -m sds_{name}":
            problems.append(f"compose {name}: command must be `python -m sds_{name}`")
        env = _env_of(svc)
        for key, value in DISTRIBUTED_ENV.items():
            if env.get(key) != value:
                problems.append(f"compose {name}: {key} must be {value!r}, is {env.get(key)!r}")
        problems.extend(
            f"compose {name}: {key} is not set" for key in CONNECTION_ENV if not env.get(key)
        )
        if not env.get("SDS_DATABASE_URL", "").startswith("postgresql+asyncpg://"):
            problems.append(f"compose {name}: SDS_DATABASE_URL must be postgresql+asyncpg://")
        expected = {"SDS_SERVICE_NAME": name, "SDS_DATABASE_SCHEMA": name}
        expected["SDS_HTTP_PORT"] = str(port)
        for key, value in expected.items():
            if env.get(key) != value:
                problems.append(f"compose {name}: {key} must be {value!r}, is {env.get(key)!r}")
        if not svc.get("healthcheck"):
            problems.append(f"compose {name}: no healthcheck")
        depends = svc.get("depends_on") or {}
        for infra in HEALTHY_INFRA:
            condition = depends.get(infra, {}) if isinstance(depends, dict) else {}
            if condition.get("condition") != "service_healthy":
                problems.append(f"compose {name}: must depend on {infra} being service_healthy")
        published = [str(p) for p in svc.get("ports") or []]
        if name in PUBLISHED and not any(p.endswith(f":{port}") for p in published):
            problems.append(f"compose {name}: port {port} must be published")
        if name not in PUBLISHED and published:
            problems.append(f"compose {name}: internal service publishes ports {published}")
        if "profiles" in svc:
            problems.append(f"compose {name}: must run without a profile")
        problems.extend(_build_problems(name, svc))
    return problems


def _build_problems(name: str, svc: dict[str, Any]) -> Problems:
    build = svc.get("build") or {}
    dockerfile = build.get("dockerfile", "")
    if not dockerfile or not (ROOT / build.get("context", ".") / dockerfile).is_file():
        return [f"compose {name}: build.dockerfile {dockerfile!r} does not exist"]
    if (
        dockerfile.endswith("Dockerfile.service")
        and (build.get("args") or {}).get("SERVICE") != name
    ):
        return [f"compose {name}: build arg SERVICE must be {name!r}"]
    return []


def compose_gpu_problems(compose: dict[str, Any]) -> Problems:
    """The CUDA trainer exists only under the `gpu` profile and reserves an NVIDIA device."""
    gpu = (compose.get("services") or {}).get("trainer-gpu")
    if gpu is None:
        return ["compose: service 'trainer-gpu' is missing"]
    problems: Problems = []
    if "gpu" not in (gpu.get("profiles") or []):
        problems.append("compose trainer-gpu: must be under profiles: [gpu]")
    if not str((gpu.get("build") or {}).get("dockerfile", "")).endswith("trainer-cuda"):
        problems.append("compose trainer-gpu: must build Dockerfile.trainer-cuda")
    devices = (((gpu.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get(
        "devices"
    ) or []
    if not any("gpu" in (d.get("capabilities") or []) for d in devices):
        problems.append("compose trainer-gpu: no deploy.resources.reservations.devices gpu")
    if _command(gpu.get("command")) != "python -m sds_trainer":
        problems.append("compose trainer-gpu: command must be `python -m sds_trainer`")
    trainer = (compose.get("services") or {}).get("trainer") or {}
    if not str((trainer.get("build") or {}).get("dockerfile", "")).endswith("trainer-cpu"):
        problems.append("compose trainer: must build Dockerfile.trainer-cpu")
    return problems


def compose_infra_problems(compose: dict[str, Any]) -> Problems:
    """Kafka 4, PostgreSQL 16, Redis 7, a permissive S3 server and the collector, with health."""
    problems: Problems = []
    services = compose.get("services") or {}
    for name, pattern in INFRA_IMAGES.items():
        svc = services.get(name)
        if svc is None:
            problems.append(f"compose: infrastructure service {name!r} is missing")
            continue
        if not pattern.match(str(svc.get("image", ""))):
            problems.append(f"compose {name}: image {svc.get('image')!r} !~ {pattern.pattern}")
        if name in HEALTHY_INFRA and not (svc.get("healthcheck") or {}).get("test"):
            problems.append(f"compose {name}: no healthcheck")
    for name, svc in services.items():
        if FORBIDDEN_IMAGE.search(f" {svc.get('image', '')}"):
            problems.append(f"compose {name}: the MinIO server image is not allowed (AGPL)")
    declared = set(compose.get("volumes") or {})
    for name in HEALTHY_INFRA:
        mounts = [str(v).split(":", 1)[0] for v in (services.get(name) or {}).get("volumes", [])]
        if not any(m in declared for m in mounts):
            problems.append(f"compose {name}: data must live on a named volume")
    return problems


def compose_secret_problems(text: str, compose: dict[str, Any]) -> Problems:
    """Required secrets use `${VAR:?message}`; no secret-looking value is a literal."""
    problems: Problems = []
    for var in REQUIRED_SECRETS:
        forms = [m.group(2) or "" for m in INTERPOLATION.finditer(text) if m.group(1) == var]
        if not forms:
            problems.append(f"compose: {var} is never passed to a service")
        problems.extend(
            f"compose: ${{{var}{form}}} must use the `:?` (required) form"
            for form in forms
            if not form.startswith(":?")
        )
    for name, svc in (compose.get("services") or {}).items():
        for key, value in _env_of(svc).items():
            if SECRETISH.search(key) and value and not INTERPOLATION.search(value):
                problems.append(f"compose {name}: {key} is a literal; interpolate it from .env")
    return problems


def env_example_problems(text: str, example: str) -> Problems:
    """Every variable compose reads from the environment is documented in deploy/.env.example."""
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    used = {m.group(1) for m in INTERPOLATION.finditer(text)}
    return [f".env.example: {var} is not documented" for var in sorted(used - documented)]


# --------------------------------------------------------------------------- kubernetes checks


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"].get("containers") or [{}]
    return dict(containers[0])


def _deployment_service(deployment: dict[str, Any]) -> str:
    """The SDS service a Deployment runs, read from its `python -m sds_<svc>` command."""
    match = re.fullmatch(r"python -m sds_(\w+)", _command(_container(deployment).get("command")))
    return match.group(1) if match else ""


def _probe_path(container: dict[str, Any], probe: str) -> str:
    return str(((container.get(probe) or {}).get("httpGet") or {}).get("path", ""))


def k8s_deployment_problems(docs: list[dict[str, Any]]) -> Problems:
    """Probes, resources, non-root hardening, ports and a matching Service for each Deployment."""
    problems: Problems = []
    deployments = list(_kind(docs, "Deployment"))
    services = list(_kind(docs, "Service"))
    running = {_deployment_service(d) for d in deployments}
    problems.extend(f"k8s: no Deployment runs {name!r}" for name in SERVICES if name not in running)
    for dep in deployments:
        name = dep["metadata"]["name"]
        pod = dep["spec"]["template"]["spec"]
        container = _container(dep)
        svc = _deployment_service(dep)
        if svc not in PORTS:
            problems.append(f"k8s {name}: command must be `python -m sds_<service>`")
            continue
        if _probe_path(container, "livenessProbe") != "/health":
            problems.append(f"k8s {name}: livenessProbe must GET /health")
        if _probe_path(container, "readinessProbe") != "/ready":
            problems.append(f"k8s {name}: readinessProbe must GET /ready")
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(resources.get(section) or {})
            if missing:
                problems.append(f"k8s {name}: resources.{section} lacks {sorted(missing)}")
        pod_sc = pod.get("securityContext") or {}
        ctr_sc = container.get("securityContext") or {}
        if not (pod_sc.get("runAsNonRoot") or ctr_sc.get("runAsNonRoot")):
            problems.append(f"k8s {name}: runAsNonRoot is not set")
        if not ctr_sc.get("readOnlyRootFilesystem"):
            problems.append(f"k8s {name}: readOnlyRootFilesystem is not set")
        if ctr_sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"k8s {name}: allowPrivilegeEscalation must be false")
        ports = [p.get("containerPort") for p in container.get("ports") or []]
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        if ports != [PORTS[svc]] or env.get("SDS_HTTP_PORT") != str(PORTS[svc]):
            problems.append(f"k8s {name}: containerPort and SDS_HTTP_PORT must be {PORTS[svc]}")
        if env.get("SDS_DATABASE_SCHEMA") != svc:
            problems.append(f"k8s {name}: SDS_DATABASE_SCHEMA must be {svc!r}")
        labels = dep["spec"]["template"]["metadata"].get("labels") or {}
        matching = [
            s
            for s in services
            if s["spec"].get("selector")
            and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
        ]
        if not matching:
            problems.append(f"k8s {name}: no Service selects its pods")
    return problems


def k8s_policy_problems(docs: list[dict[str, Any]]) -> Problems:
    """Gateway PDB, CPU HPAs for trainer and evaluator, a GPU variant of the trainer."""
    problems: Problems = []
    pdb_targets = {
        d["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name")
        for d in _kind(docs, "PodDisruptionBudget")
    }
    if "gateway" not in pdb_targets:
        problems.append("k8s: no PodDisruptionBudget for the gateway")
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in _kind(docs, "HorizontalPodAutoscaler")}
    for target in ("trainer", "evaluator"):
        metrics = (hpas.get(target) or {}).get("spec", {}).get("metrics") or []
        if not any((m.get("resource") or {}).get("name") == "cpu" for m in metrics):
            problems.append(f"k8s: no CPU HorizontalPodAutoscaler for {target}")
    gpu = [
        d
        for d in _kind(docs, "Deployment")
        if "nvidia.com/gpu" in ((_container(d).get("resources") or {}).get("limits") or {})
    ]
    if not any(_deployment_service(d) == "trainer" for d in gpu):
        problems.append("k8s: no trainer Deployment requests nvidia.com/gpu")
    return problems


def k8s_config_problems(docs: list[dict[str, Any]], template: list[dict[str, Any]]) -> Problems:
    """envFrom references resolve; the ConfigMap holds no secrets; the Secret is a template."""
    problems: Problems = []
    configmaps = {d["metadata"]["name"]: d for d in _kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: d for d in template if d.get("kind") == "Secret"}
    for cm in configmaps.values():
        problems.extend(
            f"k8s ConfigMap: {key} looks secret; move it to a Secret"
            for key in cm.get("data") or {}
            if SECRETISH.search(key) or key in {"SDS_DATABASE_URL", "SDS_REDIS_URL"}
        )
        problems.extend(
            f"k8s ConfigMap: {key} must be {value!r}"
            for key, value in DISTRIBUTED_ENV.items()
            if key != "SDS_OTEL_ENDPOINT" and (cm.get("data") or {}).get(key) != value
        )
    if list(_kind(docs, "Secret")):
        problems.append("k8s: a Secret is applied by kustomize; keep secrets in the template")
    for secret in secrets.values():
        values = (secret.get("stringData") or {}).values()
        if not values or not all(re.search(r"<[^>]+>", str(v)) for v in values):
            problems.append(f"k8s {secret['metadata']['name']}: stringData must be placeholders")
    for dep in _kind(docs, "Deployment"):
        for ref in _container(dep).get("envFrom") or []:
            if "configMapRef" in ref and ref["configMapRef"]["name"] not in configmaps:
                problems.append(f"k8s {dep['metadata']['name']}: unknown ConfigMap in envFrom")
            if "secretRef" in ref and ref["secretRef"]["name"] not in secrets:
                problems.append(f"k8s {dep['metadata']['name']}: Secret not in the template")
    return problems


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_compose()


@pytest.fixture(scope="module")
def k8s_docs() -> list[dict[str, Any]]:
    return _k8s_docs()


def test_every_service_folder_has_a_known_port() -> None:
    assert SERVICES, "no services/*/pyproject.toml found"
    unknown = [s for s in SERVICES if s not in PORTS]
    assert not unknown, f"add the HTTP port of {unknown} to PORTS, compose and deploy/k8s"
    assert len(set(PORTS.values())) == len(PORTS)
    for name in SERVICES:
        assert (ROOT / "services" / name / "src" / f"sds_{name}").is_dir()


def test_compose_runs_every_service(compose: dict[str, Any]) -> None:
    assert compose_service_problems(compose) == []


def test_compose_gpu_trainer_is_a_profile(compose: dict[str, Any]) -> None:
    assert compose_gpu_problems(compose) == []


def test_compose_infrastructure(compose: dict[str, Any]) -> None:
    assert compose_infra_problems(compose) == []


def test_compose_secrets_are_required_or_interpolated(compose: dict[str, Any]) -> None:
    assert compose_secret_problems(COMPOSE_FILE.read_text(), compose) == []


def test_env_example_documents_every_variable() -> None:
    assert env_example_problems(COMPOSE_FILE.read_text(), ENV_EXAMPLE.read_text()) == []


def test_compose_mounts_the_otel_config(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["otel-collector"].get("volumes") or []
    sources = [str(v).split(":", 1)[0] for v in volumes]
    assert any((ROOT / s).is_file() for s in sources), sources
    config = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text())
    assert {"http", "grpc"} <= set(config["receivers"]["otlp"]["protocols"])
    assert "batch" in config["processors"]
    assert "debug" in config["exporters"]
    for pipeline in config["service"]["pipelines"].values():
        assert "batch" in pipeline["processors"]
        assert "otlp" in pipeline["receivers"]


def test_no_minio_server_image_anywhere() -> None:
    files = [COMPOSE_FILE, *(p for p in DEPLOY.rglob("*") if p.is_file())]
    offenders = [str(p) for p in files if FORBIDDEN_IMAGE.search(p.read_text(errors="ignore"))]
    assert offenders == []


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {str(p.relative_to(K8S)) for p in _k8s_files()} - {"kustomization.yaml"}
    templates = {p for p in present if ".template." in p}
    assert templates, "the Secret template (secret.template.yaml) is missing"
    assert listed == present - templates, "resources must list every manifest but templates"
    images = {i["name"] for i in kustomization.get("images") or []}
    used = {str(_container(d).get("image")) for d in _kind(_k8s_docs(), "Deployment")}
    assert used <= images, f"set registry and tag of {sorted(used - images)} in images:"


def test_k8s_deployments(k8s_docs: list[dict[str, Any]]) -> None:
    assert k8s_deployment_problems(k8s_docs) == []


def test_k8s_policies(k8s_docs: list[dict[str, Any]]) -> None:
    assert k8s_policy_problems(k8s_docs) == []


def test_k8s_config_and_secret_template(k8s_docs: list[dict[str, Any]]) -> None:
    template = [
        d for p in K8S.glob("*.template.yaml") for d in yaml.safe_load_all(p.read_text()) if d
    ]
    assert k8s_config_problems(k8s_docs, template) == []


def _dockerfiles_in_compose() -> set[str]:
    services = _load_compose()["services"].values()
    return {s["build"]["dockerfile"] for s in services if "build" in s}


@pytest.mark.parametrize(
    "dockerfile", ["Dockerfile.service", "Dockerfile.trainer-cpu", "Dockerfile.trainer-cuda"]
)
def test_dockerfile(dockerfile: str) -> None:
    text = (DOCKER / dockerfile).read_text()
    assert f"deploy/docker/{dockerfile}" in _dockerfiles_in_compose()
    assert "ghcr.io/astral-sh/uv" in text
    assert re.search(r"uv sync --frozen --no-dev\b", text)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*/health", text, re.MULTILINE | re.DOTALL)
    assert re.search(r"^CMD .*python.*-m.*sds_", text, re.MULTILINE)
    sources = re.findall(r"^COPY\s+(?!--from)(?:--\S+\s+)*(\S+)", text, re.MULTILINE)
    allowed = {"pyproject.toml", "deploy/docker/healthcheck.py"}
    for source in sources:
        assert source in allowed or source.startswith(("libs/common", "services/")), source


def test_service_dockerfile_is_parametrised() -> None:
    text = (DOCKER / "Dockerfile.service").read_text()
    assert re.search(r"^ARG SERVICE\b", text, re.MULTILINE)
    assert '--package "sds-${SERVICE}"' in text
    assert "services/${SERVICE}" in text


def test_trainer_cuda_image_has_a_cuda_base() -> None:
    text = (DOCKER / "Dockerfile.trainer-cuda").read_text()
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\d+\.\d+\.\d+-\S+-ubuntu24\.04$", text, re.M)
    assert "FROM ${CUDA_IMAGE}" in text


def test_dockerignore_keeps_local_state_out() -> None:
    lines = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".services", ".sds", ".env"} <= lines


# --------------------------------------------------------------------------- the checks check


def _drop_service(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["services"].pop(name)


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(c: dict[str, Any]) -> None:
        node = c
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


COMPOSE_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    **{f"remove {s}": _drop_service(s) for s in SERVICES},
    "remove kafka": _drop_service("kafka"),
    "minio server": _set(("services", "s3proxy", "image"), "minio/minio:latest"),
    "no healthcheck": _set(("services", "datasets", "healthcheck"), None),
    "wrong port": _set(("services", "audit", "environment", "SDS_HTTP_PORT"), "9999"),
    "start before kafka": _set(("services", "llm", "depends_on"), {"kafka": {}}),
    "embedded bus": _set(("services", "evaluator", "environment", "SDS_BUS"), "memory"),
    "gpu without profile": _set(("services", "trainer-gpu", "profiles"), []),
    "literal secret": _set(("services", "llm", "environment", "SDS_GROQ_API_KEY"), "gsk_x"),
}


@pytest.mark.parametrize("breakage", sorted(COMPOSE_BREAKAGES))
def test_compose_checks_catch(breakage: str, compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    COMPOSE_BREAKAGES[breakage](broken)
    problems = (
        compose_service_problems(broken)
        + compose_gpu_problems(broken)
        + compose_infra_problems(broken)
        + compose_secret_problems("${SDS_AUTH_SECRETS:?x}", broken)
    )
    assert problems, f"{breakage!r} went unnoticed"


def test_secret_check_catches_optional_auth_secret() -> None:
    assert compose_secret_problems("x: ${SDS_AUTH_SECRETS:-dev}", {"services": {}})
    assert compose_secret_problems("x: ${SDS_AUTH_SECRETS}", {"services": {}})


@pytest.mark.parametrize(
    "breakage",
    ["liveness", "readiness", "limits", "root", "service", "deployment", "pdb", "hpa", "gpu"],
)
def test_k8s_checks_catch(breakage: str, k8s_docs: list[dict[str, Any]]) -> None:
    docs = copy.deepcopy(k8s_docs)
    first = next(_kind(docs, "Deployment"))
    container = _container(first)
    docs[docs.index(first)]["spec"]["template"]["spec"]["containers"][0] = container
    match breakage:
        case "liveness":
            container.pop("livenessProbe")
        case "readiness":
            container["readinessProbe"]["httpGet"]["path"] = "/health"
        case "limits":
            container["resources"].pop("limits")
        case "root":
            first["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
            container["securityContext"].pop("runAsNonRoot", None)
        case "service":
            docs = [d for d in docs if d.get("kind") != "Service"]
        case "deployment":
            docs.remove(first)
        case "pdb":
            docs = [d for d in docs if d.get("kind") != "PodDisruptionBudget"]
        case "hpa":
            docs = [d for d in docs if d.get("kind") != "HorizontalPodAutoscaler"]
        case "gpu":
            for dep in _kind(docs, "Deployment"):
                dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].pop(
                    "nvidia.com/gpu", None
                )
    assert k8s_deployment_problems(docs) + k8s_policy_problems(docs), breakage
