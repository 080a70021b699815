"""The deployment: every kustomize overlay renders; every resource validates against the
Kubernetes schemas (custom resources against the operators' schemas); the invariants hold
(probes, limits, non-root read-only containers, grace periods longer than the drains, in prod an
autoscaler per Deployment — an HPA, or a KEDA ScaledObject on the worker's queues or the relay's
outbox — within the databases' connections, callers-only network policies, migrations as Jobs,
the scheduled jobs); the alert rules pass promtool's unit tests and the dashboard's queries
parse; the compose file and the Dockerfile keep their promises. The negative tests show the
checks fail on broken copies.

The tools come from `make deploy-tools` (a prerequisite of `make test`): kubectl (kustomize),
promtool, kubernetes-validate, the Prometheus Operator's validators.
"""

import copy
import json
import re
import shutil
import subprocess
from collections import defaultdict
from fnmatch import fnmatch
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
TESTS = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
KUBECTL = TOOLS / "bin" / "kubectl"
PROMTOOL = TOOLS / "bin" / "promtool"
PROMETHEUS_MODELS = TOOLS / "deploy" / "node_modules" / "@kubernetes-models" / "prometheus-operator"
OVERLAYS = ("dev", "prod")
# The oldest Kubernetes the manifests are for (CronJob timeZone, gRPC probes: GA in 1.27).
KUBERNETES_VERSION = "1.30"

SERVICES = {
    # service: (python package, gRPC port, its callers)
    "catalog": ("catalog", 50051, {"gateway", "booking", "import", "payments"}),
    "booking": ("booking", 50052, {"gateway"}),
    "import": ("importer", 50053, {"gateway", "booking"}),
    "payments": ("payments", 50054, {"gateway"}),
}
CRONJOBS = {
    # name: (args, schedule)
    "booking-auto-use": (["booking", "auto-use"], "0 * * * *"),
    "booking-remind-tomorrow": (["booking", "remind-tomorrow"], "0 10 * * *"),
    "import-sync-all": (["importer", "sync-all"], "0 23 * * *"),
    "payments-batch": (["payments", "batch"], "0 3 1,16 * *"),
}
PRESTOP_SLEEP_SECONDS = 5
# A relay's engine has a pool of 2 (libs/pclib/relay.py); other processes use DB_POOL_SIZE. A pool
# opens up to twice its size (max_overflow). PostgreSQL keeps 3 connections for superusers; 10
# more are left for the Jobs, CronJobs and an operator's psql.
RELAY_POOL_SIZE = 2
RESERVED_CONNECTIONS = 3 + 10
# The slowest a relay or worker's autoscaler may scale down: no fewer seconds of calm first.
SCALE_DOWN_WINDOW_SECONDS = 300
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")


def require_tool(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make deploy-tools`")
    return path


def render(directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(require_tool(KUBECTL)), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"kustomize build {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def dev_keys() -> None:
    """The dev overlay's Secrets read the key pairs that `make deploy-dev-keys` writes."""
    from pclib.keys import ensure_key_pair

    secrets = K8S / "overlays" / "dev" / "secrets"
    for pair in ("jwt", "ticket"):
        ensure_key_pair(secrets / f"{pair}-private.pem", secrets / f"{pair}-public.pem")


@pytest.fixture(scope="session")
def rendered(dev_keys) -> dict[str, list[dict]]:
    return {overlay: render(K8S / "overlays" / overlay) for overlay in OVERLAYS}


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_template(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]
    return workload["spec"]["template"]


def config_of(docs: list[dict], container: dict) -> dict[str, str]:
    """The environment a container gets from its ConfigMaps and literal values."""
    maps = by_kind(docs, "ConfigMap")
    env = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]]["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


# --- invariants (functions, so that the negative tests run them on broken copies) ----------------


def workload_problems(docs: list[dict]) -> list[str]:
    problems = []
    for doc in docs:
        if doc["kind"] not in WORKLOAD_KINDS:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        ours = doc["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "passculture"
        pod = pod_template(doc)["spec"]
        pod_security = pod.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True or pod_security.get("runAsUser", 0) == 0:
            problems.append(f"{where}: the pod must run as a non-root user")
        for container in pod.get("initContainers", []) + pod["containers"]:
            name = f"{where} container {container['name']}"
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(bound, {}):
                        problems.append(f"{name}: no {resource} {bound}")
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: allowPrivilegeEscalation must be false")
            if "ALL" not in security.get("capabilities", {}).get("drop", []):
                problems.append(f"{name}: must drop ALL capabilities")
            if security.get("runAsUser") == 0 or security.get("runAsNonRoot") is False:
                problems.append(f"{name}: runs as root")
            if ours and security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{name}: the root filesystem must be read-only")
            if doc["kind"] in ("Deployment", "StatefulSet"):
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in container:
                        problems.append(f"{name}: no {probe}")
        if ours and pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile must be RuntimeDefault")
        if ours and pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: must not mount a service account token")
    return problems


def grace_problems(docs: list[dict]) -> list[str]:
    """Each server's grace period outlasts its preStop sleep plus its drain."""
    problems = []
    for name, deployment in by_kind(docs, "Deployment").items():
        labels = deployment["metadata"]["labels"]
        if labels.get("app.kubernetes.io/component") != "server":
            continue
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = config_of(docs, container)
        drain = float(env.get("GRPC_DRAIN_SECONDS") or env.get("GRACEFUL_SHUTDOWN_SECONDS") or 10)
        sleep = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        sleep_seconds = float(sleep[1]) if sleep and sleep[0] == "sleep" else 0
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= drain + sleep_seconds:
            problems.append(
                f"Deployment/{name}: grace {grace}s <= drain {drain}s + {sleep_seconds}s"
            )
        if name in SERVICES:
            port = SERVICES[name][1]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if container.get(probe, {}).get("grpc", {}).get("port") != port:
                    problems.append(f"Deployment/{name}: {probe} is not a gRPC probe on {port}")
    return problems


def service_setting(docs: list[dict], deployment: dict, name: str) -> str:
    """A setting of the service's code (its settings.py default) unless its config overrides it."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = config_of(docs, container)
    if name.upper() in env:
        return env[name.upper()]
    package = container["args"][0]
    service = deployment["metadata"]["labels"]["app.kubernetes.io/name"]
    settings = (ROOT / "services" / service / package / "settings.py").read_text()
    found = re.search(rf'^\s*{name}: str = "([^"]+)"', settings, re.MULTILINE)
    assert found, f"services/{service}/{package}/settings.py: no {name} default"
    return found.group(1)


def consumed_queues(docs: list[dict], deployment: dict) -> set[str]:
    """The queues a worker consumes, as its service's code names them:
    f"{settings.queue_prefix}.NAME" (the consumers of worker.py, __main__.py, …), except those
    it retires: RetiredQueue(f"{settings.queue_prefix}.NAME", …)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    service = deployment["metadata"]["labels"]["app.kubernetes.io/name"]
    package = ROOT / "services" / service / container["args"][0]
    sources = [path.read_text() for path in package.rglob("*.py")]
    named = r"f\"\{settings\.queue_prefix\}\.([\w-]+)\""
    names = {name for source in sources for name in re.findall(named, source)}
    names -= {
        name for source in sources for name in re.findall(rf"RetiredQueue\(\s*{named}", source)
    }
    prefix = service_setting(docs, deployment, "queue_prefix")
    return {f"{prefix}.{name}" for name in names}


def scaled_object_problems(docs: list[dict], scaled: dict, deployment: dict) -> list[str]:
    where = f"ScaledObject/{scaled['metadata']['name']}"
    spec = scaled["spec"]
    problems = []
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount")
    if low < 2:
        problems.append(f"{where}: fewer than 2 replicas (at zero, events wait)")
    if high is None or high < low:
        problems.append(f"{where}: no maxReplicaCount at least minReplicaCount")
    behavior = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {})
    window = behavior.get("scaleDown", {}).get("stabilizationWindowSeconds", 0)
    if window < SCALE_DOWN_WINDOW_SECONDS:
        problems.append(
            f"{where}: scales down after {window}s of calm, under {SCALE_DOWN_WINDOW_SECONDS}s"
        )
    triggers = spec["triggers"]
    component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
    if component == "worker":
        authentications = by_kind(docs, "TriggerAuthentication")
        queues = set()
        for trigger in triggers:
            metadata = trigger["metadata"]
            if trigger["type"] != "rabbitmq" or metadata.get("mode") != "QueueLength":
                problems.append(f"{where}: a trigger is not a rabbitmq QueueLength one")
                continue
            queues.add(metadata["queueName"])
            authentication = authentications.get(trigger.get("authenticationRef", {}).get("name"))
            parameters = {
                ref["parameter"]
                for ref in (authentication or {}).get("spec", {}).get("secretTargetRef", [])
            }
            if "host" not in metadata and "host" not in parameters:
                problems.append(f"{where}: the {metadata['queueName']} trigger has no host")
        consumed = consumed_queues(docs, deployment)
        for queue in sorted(consumed - queues):
            problems.append(f"{where}: no trigger on the queue {queue}")
        for queue in sorted(queues - consumed):
            problems.append(f"{where}: a trigger on {queue}, a queue the worker does not consume")
    elif component == "relay":
        exchange = service_setting(docs, deployment, "events_exchange")
        if not any(
            trigger["type"] == "prometheus"
            and "serverAddress" in trigger["metadata"]
            and re.search(
                rf'outbox_backlog\{{[^}}]*exchange="{re.escape(exchange)}"',
                trigger["metadata"]["query"],
            )
            for trigger in triggers
        ):
            problems.append(f"{where}: no prometheus trigger on outbox_backlog of {exchange}")
    return problems


def autoscaler_problems(docs: list[dict]) -> list[str]:
    """Every Deployment of the suite has one autoscaler, which owns its replica count: a
    HorizontalPodAutoscaler (servers, gateway) or a KEDA ScaledObject (relays on their outbox
    backlog, workers on each queue they consume), from 2 replicas up."""
    deployments = by_kind(docs, "Deployment")
    hpas = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa
        for hpa in by_kind(docs, "HorizontalPodAutoscaler").values()
        if hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    }
    scaled_objects = {
        scaled["spec"]["scaleTargetRef"]["name"]: scaled
        for scaled in by_kind(docs, "ScaledObject").values()
        if scaled["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    }
    problems = []
    for name, deployment in deployments.items():
        if deployment["metadata"]["labels"].get("app.kubernetes.io/part-of") != "passculture":
            continue
        hpa, scaled = hpas.get(name), scaled_objects.get(name)
        if hpa is None and scaled is None:
            problems.append(
                f"Deployment/{name}: no autoscaler (HorizontalPodAutoscaler or ScaledObject)"
            )
            continue
        if hpa is not None and scaled is not None:
            problems.append(f"Deployment/{name}: both a HorizontalPodAutoscaler and a ScaledObject")
        if "replicas" in deployment["spec"]:
            problems.append(f"Deployment/{name}: sets replicas, which its autoscaler owns")
        if hpa is not None and hpa["spec"].get("minReplicas", 1) < 2:
            problems.append(
                f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: fewer than 2 replicas"
            )
        if scaled is not None:
            problems += scaled_object_problems(docs, scaled, deployment)
    return problems


def tracing_problems(docs: list[dict]) -> list[str]:
    """Every container of the suite exports its spans to a collector (the ConfigMap `tracing`'s
    OTEL_EXPORTER_OTLP_ENDPOINT) and names itself (no OTEL_SERVICE_NAME: each process's own)."""
    problems = []
    for doc in docs:
        ours = doc["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "passculture"
        if doc["kind"] not in WORKLOAD_KINDS or not ours:
            continue
        for container in pod_template(doc)["spec"]["containers"]:
            name = f"{doc['kind']}/{doc['metadata']['name']} container {container['name']}"
            env = config_of(docs, container)
            if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
                problems.append(f"{name}: no collector (OTEL_EXPORTER_OTLP_ENDPOINT)")
            if "OTEL_SERVICE_NAME" in env:
                problems.append(f"{name}: OTEL_SERVICE_NAME hides the process's own name")
    return problems


def connection_problems(docs: list[dict]) -> list[str]:
    """Each database's max_connections holds its clients' pools with every Deployment at its
    autoscaler's maximum."""
    clusters = by_kind(docs, "Cluster")
    maxima = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"]["maxReplicas"]
        for hpa in by_kind(docs, "HorizontalPodAutoscaler").values()
    } | {
        scaled["spec"]["scaleTargetRef"]["name"]: scaled["spec"].get("maxReplicaCount", 100)
        for scaled in by_kind(docs, "ScaledObject").values()
    }
    opened: dict[str, int] = defaultdict(int)
    for name, deployment in by_kind(docs, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = config_of(docs, container)
        cluster = env.get("DB_HOST", "").removesuffix("-rw")
        if cluster not in clusters:
            continue
        relay = container.get("args", [])[1:] == ["relay"]
        pool = RELAY_POOL_SIZE if relay else int(env.get("DB_POOL_SIZE", 10))
        opened[cluster] += maxima.get(name, deployment["spec"].get("replicas", 1)) * 2 * pool
    problems = []
    for cluster, connections in sorted(opened.items()):
        parameters = clusters[cluster]["spec"].get("postgresql", {}).get("parameters", {})
        available = int(parameters.get("max_connections", 100)) - RESERVED_CONNECTIONS
        if connections > available:
            problems.append(
                f"Cluster/{cluster}: its clients may open {connections} connections, "
                f"over the {available} that max_connections leaves them"
            )
    return problems


def allowed_callers(policy: dict, port: str) -> set[str] | None:
    """The app names a NetworkPolicy lets in on `port` (None: some rule lets everyone in)."""
    callers: set[str] = set()
    for rule in policy["spec"].get("ingress", []):
        ports = {p.get("port") for p in rule.get("ports", [])}
        if rule.get("ports") and port not in ports:
            continue
        if not rule.get("from"):
            return None
        for peer in rule["from"]:
            if "podSelector" not in peer or "namespaceSelector" in peer:
                continue  # other namespaces (ingress controller, monitoring)
            selector = peer["podSelector"]
            name = selector.get("matchLabels", {}).get("app.kubernetes.io/name")
            if name:
                callers.add(name)
            for expression in selector.get("matchExpressions", []):
                if expression["key"] == "app.kubernetes.io/name":
                    callers.update(expression["values"])
            if not selector:
                return None
    return callers


def network_problems(docs: list[dict]) -> list[str]:
    policies = list(by_kind(docs, "NetworkPolicy").values())
    problems = []
    if not any(p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") for p in policies):
        problems.append("no default-deny ingress NetworkPolicy")
    for name, (_, _, callers) in SERVICES.items():
        selecting = [
            p
            for p in policies
            if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == name
            and p["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
            == "server"
        ]
        if len(selecting) != 1:
            problems.append(f"{name}: {len(selecting)} NetworkPolicies select its server")
            continue
        allowed = allowed_callers(selecting[0], "grpc")
        if allowed != callers:
            shown = sorted(allowed) if allowed is not None else "everyone"
            problems.append(f"{name}: reachable by {shown}, expected its callers {sorted(callers)}")
    return problems


# --- schemas --------------------------------------------------------------------------------


def custom_resource_schema(doc: dict) -> Path:
    group_version = doc["apiVersion"].replace("/", "_")
    return TESTS / "schemas" / f"{group_version}_{doc['kind']}.json"


def schema_problems(docs: list[dict]) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    problems = []
    monitoring = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            monitoring.append(doc)
            continue
        if custom_resource_schema(doc).exists():
            schema = json.loads(custom_resource_schema(doc).read_text())
            for error in jsonschema.Draft202012Validator(schema).iter_errors(doc):
                path = ".".join(str(p) for p in error.absolute_path)
                problems.append(f"{where}: {path}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            problems.append(f"{where}: {path}: {error.message}")
        except SchemaNotFoundError as error:
            problems.append(f"{where}: {error.message}")
    if monitoring:
        problems += monitoring_problems(monitoring)
    return problems


def monitoring_problems(docs: list[dict]) -> list[str]:
    require_tool(PROMETHEUS_MODELS)
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing (the npm registry's tools need it): install nodejs")
    result = subprocess.run(
        [node, str(TESTS / "validate_monitoring.mjs"), str(PROMETHEUS_MODELS)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- the overlays ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_validates_against_its_schema(rendered, overlay):
    assert schema_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_have_probes_limits_and_run_unprivileged(rendered, overlay):
    docs = rendered[overlay]
    assert len(by_kind(docs, "Deployment")) >= 12
    assert workload_problems(docs) == []
    assert grace_problems(docs) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget(rendered, overlay):
    docs = rendered[overlay]
    budgets = [
        p["spec"]["selector"]["matchLabels"] for p in by_kind(docs, "PodDisruptionBudget").values()
    ]
    for name, deployment in by_kind(docs, "Deployment").items():
        if deployment["metadata"]["labels"].get("app.kubernetes.io/part-of") != "passculture":
            continue
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(b.items() <= labels.items() for b in budgets), f"{name}: no PodDisruptionBudget"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_is_reached_only_by_its_callers(rendered, overlay):
    assert network_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_are_jobs_never_part_of_a_service_start(rendered, overlay):
    docs = rendered[overlay]
    jobs = by_kind(docs, "Job")
    for name, (package, _, _) in SERVICES.items():
        assert jobs[f"{name}-migrate"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
            package,
            "migrate",
        ]
    for doc in docs:
        if doc["kind"] in ("Deployment", "CronJob"):
            for container in pod_template(doc)["spec"]["containers"]:
                assert "migrate" not in container.get("args", []), doc["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_relays_and_consumers_run_in_their_own_deployments(rendered, overlay):
    deployments = by_kind(rendered[overlay], "Deployment")
    for name, (package, _, _) in SERVICES.items():
        assert deployments[f"{name}-relay"]["spec"]["template"]["spec"]["containers"][0][
            "args"
        ] == [package, "relay"]
    for name in ("catalog", "booking", "payments"):
        assert deployments[f"{name}-worker"]["spec"]["template"]["spec"]["containers"][0][
            "args"
        ] == [SERVICES[name][0], "worker"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scheduled_commands_are_cronjobs_in_paris_time(rendered, overlay):
    cronjobs = by_kind(rendered[overlay], "CronJob")
    assert set(cronjobs) == set(CRONJOBS)
    for name, (args, schedule) in CRONJOBS.items():
        spec = cronjobs[name]["spec"]
        assert spec["schedule"] == schedule
        assert spec["timeZone"] == "Europe/Paris"
        assert spec["concurrencyPolicy"] == "Forbid"
        container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == args


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_exports_its_traces_to_a_collector(rendered, overlay):
    docs = rendered[overlay]
    assert tracing_problems(docs) == []
    [address] = {
        config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        for config in by_kind(docs, "ConfigMap").values()
        if config["metadata"]["name"].startswith("tracing-")
    }
    if overlay == "prod":
        assert address == "http://otel-collector.observability.svc:4317"
        return
    # dev runs the collector, which forwards to Jaeger.
    assert address == "http://otel-collector:4317"
    services = by_kind(docs, "Service")
    assert 4317 in [port["port"] for port in services["otel-collector"]["spec"]["ports"]]
    assert 4317 in [port["port"] for port in services["jaeger"]["spec"]["ports"]]
    deployments = by_kind(docs, "Deployment")
    collector = deployments["otel-collector"]["spec"]["template"]["spec"]
    assert collector["containers"][0]["image"].startswith("otel/opentelemetry-collector-contrib:")
    [config] = [
        c for name, c in by_kind(docs, "ConfigMap").items() if name.startswith("otel-collector-")
    ]
    assert collector["volumes"][0]["configMap"]["name"] == config["metadata"]["name"]
    pipeline = yaml.safe_load(config["data"]["collector.yaml"])
    assert pipeline["exporters"]["otlp"]["endpoint"] == "jaeger:4317"
    assert deployments["jaeger"]["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "jaegertracing/all-in-one:"
    )


def test_prod_has_an_autoscaler_per_deployment(rendered):
    docs = rendered["prod"]
    assert autoscaler_problems(docs) == []
    background = {
        name
        for name, deployment in by_kind(docs, "Deployment").items()
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] in ("relay", "worker")
    }
    targets = [s["spec"]["scaleTargetRef"]["name"] for s in by_kind(docs, "ScaledObject").values()]
    assert len(background) == 7
    assert sorted(targets) == sorted(background)


def test_prod_databases_hold_every_pool_at_the_autoscalers_maximum(rendered):
    assert connection_problems(rendered["prod"]) == []


def test_workers_scale_on_the_queues_their_code_consumes(rendered):
    docs = rendered["prod"]
    deployments = by_kind(docs, "Deployment")
    assert consumed_queues(docs, deployments["booking-worker"]) == {
        "booking.catalog-events",
        "booking.payment-events",
        "booking.emails",
    }
    assert consumed_queues(docs, deployments["catalog-worker"]) == {
        "catalog.booking-events",
        "catalog.invitation-emails",
    }
    (authentication,) = by_kind(docs, "TriggerAuthentication").values()
    (host,) = [r for r in authentication["spec"]["secretTargetRef"] if r["parameter"] == "host"]
    rabbitmq = by_kind(docs, "RabbitmqCluster")["rabbitmq"]
    # The RabbitMQ Cluster Operator's Secret <cluster>-default-user, with an amqp:// URL.
    assert (host["name"], host["key"]) == (
        f"{rabbitmq['metadata']['name']}-default-user",
        "connection_string",
    )


def test_prod_runs_the_operators_postgresql_and_rabbitmq_clusters(rendered):
    docs = rendered["prod"]
    clusters = by_kind(docs, "Cluster")
    assert set(clusters) == {f"{name}-db" for name in SERVICES}
    deployments = by_kind(docs, "Deployment")
    for name in SERVICES:
        cluster = clusters[f"{name}-db"]["spec"]
        assert cluster["instances"] >= 3
        env = config_of(docs, deployments[name]["spec"]["template"]["spec"]["containers"][0])
        assert env["DB_HOST"] == f"{name}-db-rw"
        assert env["DB_NAME"] == cluster["bootstrap"]["initdb"]["database"]
    (rabbitmq,) = by_kind(docs, "RabbitmqCluster").values()
    assert rabbitmq["spec"]["replicas"] >= 3
    assert "default_queue_type = quorum" in rabbitmq["spec"]["rabbitmq"]["additionalConfig"]
    # No home-made data stores in prod.
    assert not by_kind(docs, "StatefulSet")


def test_prod_is_monitored(rendered):
    docs = rendered["prod"]
    monitors = by_kind(docs, "ServiceMonitor")
    for name in [*SERVICES, "gateway"]:
        selector = monitors[name]["spec"]["selector"]["matchLabels"]
        (service,) = [
            s
            for s in by_kind(docs, "Service").values()
            if selector.items() <= s["metadata"].get("labels", {}).items()
        ]
        ports = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitors[name]["spec"]["endpoints"]} <= ports
    assert "passculture-background" in by_kind(docs, "PodMonitor")
    assert "passculture-alerts" in by_kind(docs, "PrometheusRule")


# --- alerts and dashboard -------------------------------------------------------------------


def prometheus_rule_groups() -> list[dict]:
    rule = yaml.safe_load((K8S / "components" / "monitoring" / "prometheus-rules.yaml").read_text())
    return rule["spec"]["groups"]


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(require_tool(PROMTOOL)), *args], capture_output=True, text=True, check=False
    )


def test_alert_rules_are_valid_and_cover_the_promised_alerts(tmp_path):
    groups = prometheus_rule_groups()
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    assert {
        "OutboxBacklogGrowing",
        "DeadLetteredMessages",
        "GrpcErrorRatioHigh",
        "BookingLatencyP99High",
        "ScheduledJobLate",
        "TicketsMaySellWithoutBooking",
    } <= alerts
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_fire_when_they_should(tmp_path):
    """promtool's unit tests (deploy/tests/alerts-test.yaml) against the rules, annotations
    aside (their templates are checked by `promtool check rules`)."""
    groups = copy.deepcopy(prometheus_rule_groups())
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    shutil.copy(TESTS / "alerts-test.yaml", tmp_path / "alerts-test.yaml")
    result = promtool("test", "rules", str(tmp_path / "alerts-test.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard() -> dict:
    path = K8S / "components" / "monitoring" / "dashboards" / "passculture.json"
    return json.loads(path.read_text())


def dashboard_expressions(board: dict) -> list[str]:
    return [
        target["expr"]
        for panel in board["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def grafana_to_promql(expression: str) -> str:
    expression = expression.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?(\w+)\}?", r"\1", expression)


def test_dashboard_queries_parse(tmp_path):
    board = dashboard()
    expressions = dashboard_expressions(board)
    assert len(expressions) >= 20
    rules = [
        {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(e)}
        for i, e in enumerate(expressions)
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_shows_golden_signals_per_service_and_business_figures():
    board = dashboard()
    titles = [panel["title"] for panel in board["panels"]]
    for wanted in ("Bookings per minute", "Allociné imports", "Payment batches"):
        assert any(wanted in title for title in titles), wanted
    for signal in ("Traffic", "Errors", "Latency", "Saturation"):
        assert sum(title.startswith(signal) for title in titles) >= 2, signal
    (service,) = [v for v in board["templating"]["list"] if v["name"] == "service"]
    assert set(service["query"].split(",")) == set(SERVICES)
    assert any(p.get("repeat") == "service" for p in board["panels"] if p["type"] == "row")
    expressions = " ".join(dashboard_expressions(board))
    for metric in (
        "grpc_server_handled_total",
        "grpc_server_handling_seconds_bucket",
        "http_requests_total",
        "outbox_backlog",
        "import_showtimes_total",
        "payments_batch_last_bookings",
    ):
        assert metric in expressions, metric


# --- compose and Dockerfile -----------------------------------------------------------------


def test_compose_runs_the_suite_in_order_with_a_database_per_service():
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("postgres", "rabbitmq"):
        assert "healthcheck" in services[name], name
    databases = set()
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if service.get("image") == "passculture:dev":
            assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        url = service.get("environment", {}).get("DATABASE_URL")
        if url:
            databases.add(url.rsplit("/", 1)[1])
    assert databases == {f"passculture_{name}" for name in SERVICES}
    for name in SERVICES:
        server = services[name]
        assert "healthcheck" in server, name
        migrated = server["depends_on"][f"{name}-migrate"]["condition"]
        assert migrated == "service_completed_successfully", name
    for name in ("booking", "import", "payments"):
        assert services[name]["depends_on"]["catalog"]["condition"] == "service_healthy"
    for name in SERVICES:
        assert services["gateway"]["depends_on"][name]["condition"] == "service_healthy"


def test_the_image_is_multi_stage_generates_the_protos_and_runs_unprivileged():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) >= 2
    assert "grpc_tools.protoc" in dockerfile
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    (user,) = re.findall(r"^USER (\S+)", final_stage, re.MULTILINE)
    assert user.split(":")[0] not in ("0", "root")
    assert "pip install" not in final_stage  # dependencies come built from the first stage


# What test code looks like: pytest's files, test folders and the test support package.
TEST_CODE = re.compile(r"(^|/)(tests?|testing)(/|$)|(^|/)(test_[^/]*|[^/]*_test|conftest)\.py$")


def copied_sources(dockerfile: str) -> list[str]:
    """The repository paths the Dockerfile's COPY lines take from the build context."""
    sources = []
    for line in dockerfile.splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            sources += [p.rstrip("/") for p in parts[1:-1] if not p.startswith("--")]
    return sources


def copied_test_code(dockerfile: str) -> list[str]:
    """Test files and folders that the Dockerfile's COPY lines would put in the image."""
    found = []
    for source in copied_sources(dockerfile):
        root = ROOT / source
        paths = [root] if root.is_file() else [root, *root.rglob("*")]
        found += [
            str(path.relative_to(ROOT))
            for path in paths
            if "__pycache__" not in path.parts and TEST_CODE.search(str(path.relative_to(ROOT)))
        ]
    return found


def test_the_image_holds_no_test_code():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "services/booking/booking" in copied_sources(dockerfile)
    assert copied_test_code(dockerfile) == []


def test_a_dockerfile_copying_test_code_fails_the_check():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    broken = dockerfile.replace(
        "COPY services/booking/booking ./services/booking/booking",
        "COPY services/booking ./services/booking",
    )
    assert broken != dockerfile
    assert "services/booking/tests/test_booking_saga.py" in copied_test_code(broken)
    assert "tests/support/booking_helpers.py" in copied_test_code(
        dockerfile + "\nCOPY tests/support ./tests/support\n"
    )


def ignored(path: str, dockerignore: str) -> bool:
    """Whether the build context leaves `path` out: as Docker does, a line matches a path or one
    of its folders, the last matching line wins, `!` takes back in."""
    parts = path.split("/")
    folders = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    result = False
    for line in dockerignore.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern = line.removeprefix("!").rstrip("/")
        if pattern.startswith("**/"):
            # Any depth: fnmatch's `*` crosses folders.
            matched = any(fnmatch(folder, f"*/{pattern[3:]}") for folder in folders)
        else:
            depth = pattern.count("/") + 1
            matched = depth <= len(folders) and fnmatch(folders[depth - 1], pattern)
        if matched:
            result = not line.startswith("!")
    return result


def packaged_files(dockerfile: str, dockerignore: str, folder: str) -> list[str]:
    """The files of `folder` (a repository path) that the image gets: in the build context and
    under a COPY source."""
    sources = copied_sources(dockerfile)
    return [
        path
        for path in (str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*") if p.is_file())
        if not ignored(path, dockerignore)
        and any(path == source or path.startswith(f"{source}/") for source in sources)
    ]


EMAIL_TEMPLATES = "services/booking/booking/templates"


def test_the_image_holds_the_email_templates():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    dockerignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text()
    templates = sorted(str(p.relative_to(ROOT)) for p in (ROOT / EMAIL_TEMPLATES).rglob("*.*"))
    assert f"{EMAIL_TEMPLATES}/emails/confirmation.html" in templates
    assert sorted(packaged_files(dockerfile, dockerignore, EMAIL_TEMPLATES)) == templates
    # The tests stay out all the same.
    assert ignored("services/booking/tests/test_booking_emails.py", dockerignore)


def test_a_context_without_the_templates_fails_the_check():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    dockerignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text()
    assert packaged_files(dockerfile, dockerignore + "**/*.html\n", EMAIL_TEMPLATES)
    assert not any(
        path.endswith(".html")
        for path in packaged_files(dockerfile, dockerignore + "**/*.html\n", EMAIL_TEMPLATES)
    )
    assert packaged_files(dockerfile, dockerignore + "services/booking/\n", EMAIL_TEMPLATES) == []
    only_code = dockerfile.replace(
        "COPY services/booking/booking ./services/booking/booking",
        "COPY services/booking/booking/*.py ./services/booking/booking/",
    )
    assert packaged_files(only_code, dockerignore, EMAIL_TEMPLATES) == []


# --- negative controls: the checks fail on broken copies ------------------------------------


def test_a_deployment_without_probes_fails_the_check(tmp_path, dev_keys):
    """A copy of deploy/k8s whose catalog server lost its probes and limits: rendered, it
    must fail the invariants (the real tree passes them, above)."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    path = tree / "base" / "catalog" / "deployment.yaml"
    deployment = yaml.safe_load(path.read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    del container["readinessProbe"], container["livenessProbe"]
    del container["resources"]["limits"]
    path.write_text(yaml.safe_dump(deployment))
    problems = workload_problems(render(tree / "overlays" / "prod"))
    assert "Deployment/catalog container catalog: no readinessProbe" in problems
    assert "Deployment/catalog container catalog: no livenessProbe" in problems
    assert "Deployment/catalog container catalog: no cpu limits" in problems


def test_broken_manifests_fail_the_checks(rendered):
    docs = copy.deepcopy(rendered["prod"])
    deployments = by_kind(docs, "Deployment")
    pod = deployments["booking"]["spec"]["template"]["spec"]
    pod["securityContext"]["runAsNonRoot"] = False
    pod["terminationGracePeriodSeconds"] = 10
    pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    problems = workload_problems(docs)
    assert "Deployment/booking: the pod must run as a non-root user" in problems
    assert "Deployment/booking container booking: the root filesystem must be read-only" in problems
    assert any(p.startswith("Deployment/booking: grace 10s") for p in grace_problems(docs))

    without_hpa = [
        d
        for d in docs
        if not (d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "payments")
    ]
    assert autoscaler_problems(without_hpa) == [
        "Deployment/payments: no autoscaler (HorizontalPodAutoscaler or ScaledObject)"
    ]

    policy = by_kind(docs, "NetworkPolicy")["booking"]
    policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"].append(
        "import"
    )
    assert network_problems(docs) == [
        "booking: reachable by ['gateway', 'import'], expected its callers ['gateway']"
    ]


def test_a_process_without_the_tracing_config_fails_the_check(rendered):
    docs = copy.deepcopy(rendered["dev"])
    container = by_kind(docs, "Deployment")["booking-worker"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    container["envFrom"] = [
        source
        for source in container["envFrom"]
        if not source["configMapRef"]["name"].startswith("tracing-")
    ]
    container.setdefault("env", []).append({"name": "OTEL_SERVICE_NAME", "value": "booking"})
    where = "Deployment/booking-worker container worker"
    assert tracing_problems(docs) == [
        f"{where}: no collector (OTEL_EXPORTER_OTLP_ENDPOINT)",
        f"{where}: OTEL_SERVICE_NAME hides the process's own name",
    ]


def test_broken_autoscalers_fail_the_checks(rendered):
    docs = copy.deepcopy(rendered["prod"])
    without = [
        d
        for d in docs
        if not (d["kind"] == "ScaledObject" and d["metadata"]["name"] == "booking-worker")
    ]
    assert autoscaler_problems(without) == [
        "Deployment/booking-worker: no autoscaler (HorizontalPodAutoscaler or ScaledObject)"
    ]

    scaled = by_kind(docs, "ScaledObject")
    scaled["booking-worker"]["spec"]["triggers"].pop()  # booking.emails
    scaled["catalog-relay"]["spec"]["triggers"][0]["metadata"]["query"] = (
        'max(outbox_backlog{exchange="booking"})'
    )
    del scaled["payments-relay"]["spec"]["minReplicaCount"]
    del scaled["payments-worker"]["spec"]["advanced"]
    by_kind(docs, "Deployment")["import-relay"]["spec"]["replicas"] = 2
    assert sorted(autoscaler_problems(docs)) == [
        "Deployment/import-relay: sets replicas, which its autoscaler owns",
        "ScaledObject/booking-worker: no trigger on the queue booking.emails",
        "ScaledObject/catalog-relay: no prometheus trigger on outbox_backlog of catalog",
        "ScaledObject/payments-relay: fewer than 2 replicas (at zero, events wait)",
        "ScaledObject/payments-worker: scales down after 0s of calm, under 300s",
    ]

    scaled["booking-worker"]["spec"]["maxReplicaCount"] = 10
    (problem,) = connection_problems(docs)
    assert problem.startswith("Cluster/booking-db: its clients may open 456 connections")


def test_schema_validation_refuses_misspelt_fields(rendered):
    docs = copy.deepcopy(rendered["prod"])
    deployment = by_kind(docs, "Deployment")["catalog"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    cluster = by_kind(docs, "Cluster")["catalog-db"]
    cluster["spec"]["instance"] = 3
    rabbitmq = by_kind(docs, "RabbitmqCluster")["rabbitmq"]
    rabbitmq["spec"]["replicas"] = "three"
    monitor = by_kind(docs, "ServiceMonitor")["catalog"]
    del monitor["spec"]["selector"]
    problems = schema_problems([deployment, cluster, rabbitmq, monitor])
    assert len(problems) == 4, problems
    assert problems[0].startswith("Deployment/catalog: spec.template.spec.containers.0")
    assert "instance" in problems[1]
    assert problems[2].startswith("RabbitmqCluster/rabbitmq: spec.replicas")
    assert problems[3].startswith("ServiceMonitor/catalog") and "selector" in problems[3]


def test_schema_validation_refuses_misspelt_keda_fields(rendered):
    docs = copy.deepcopy(rendered["prod"])
    scaled = by_kind(docs, "ScaledObject")["booking-worker"]
    scaled["spec"]["maxReplicaCont"] = scaled["spec"].pop("maxReplicaCount")
    relay = by_kind(docs, "ScaledObject")["booking-relay"]
    relay["spec"]["triggers"][0]["metadata"]["threshold"] = 100
    authentication = by_kind(docs, "TriggerAuthentication")["rabbitmq"]
    reference = authentication["spec"]["secretTargetRef"][0]
    reference["paramter"] = reference.pop("parameter")
    problems = schema_problems([scaled, relay, authentication])
    assert len(problems) == 4, problems
    assert (
        problems[0].startswith("ScaledObject/booking-worker: spec: ")
        and "maxReplicaCont" in problems[0]
    )
    assert problems[1].startswith("ScaledObject/booking-relay: spec.triggers.0.metadata.threshold")
    assert "paramter" in " ".join(problems[2:]) and "parameter" in " ".join(problems[2:])
