"""deploy/k8s renders, validates offline and says what issue 12 asks of it.

Every overlay is rendered by the pinned kustomize (built with Go on first use and cached; the tests
fail, never skip, when it cannot be installed) from a copy of the tree with throwaway secrets, and
checked against the Kubernetes schemas ``kubernetes-validate`` ships and the vendored CRD schemas.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from civicgrid_contracts.catalogue import all_topics, redrive_topic
from civicgrid_deliberation.bootstrap import create_app as deliberation_app
from civicgrid_deliberation.settings import DeliberationSettings
from civicgrid_notifications.bootstrap import create_app as notifications_app
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_orggraph.bootstrap import create_app as orggraph_app
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_resources.bootstrap import create_app as resources_app
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.auth import TokenVerifier
from civicgrid_runtime.auth.keys import PUBLIC_NAME
from civicgrid_runtime.auth.principal import Role
from civicgrid_runtime.auth.tokens import TokenIssuer
from civicgrid_runtime.kafka.topics import redrive_topics_of
from civicgrid_runtime.settings import ServiceSettings
from deploy.k8s import render as k8s

pytestmark = pytest.mark.timeout(1800)  # a cold kustomize build takes minutes on a loaded machine

REPO = Path(__file__).resolve().parents[2]
SERVICES: dict[str, tuple[int, str, type[ServiceSettings]]] = {
    "org-graph": (8001, "ORGGRAPH_", OrgGraphSettings),
    "resources": (8002, "RESOURCES_", ResourcesSettings),
    "notifications": (8003, "NOTIFICATIONS_", NotificationsSettings),
    "deliberation": (8004, "DELIBERATION_", DeliberationSettings),
}
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def kustomize() -> Path:
    try:
        return k8s.kustomize_binary(report=lambda message: None)
    except Exception as error:  # CI must render: a missing renderer is a failure, not a skip
        pytest.fail(f"cannot install kustomize {k8s.KUSTOMIZE_VERSION}: {error}", pytrace=False)


@pytest.fixture(scope="module")
def rendered(kustomize: Path) -> dict[str, list[Obj]]:
    return {overlay: k8s.render(overlay, kustomize) for overlay in k8s.OVERLAYS}


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
    return found[0]


def containers(deployment: Obj) -> list[Obj]:
    found = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(found, list)
    return found


def init_containers(deployment: Obj) -> list[Obj]:
    found = deployment["spec"]["template"]["spec"].get("initContainers", [])
    assert isinstance(found, list)
    return found


# --------------------------------------------------------------------------- schemas


def test_without_go_the_renderer_is_an_error_that_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(k8s.K8sError, match=rf"kustomize {k8s.KUSTOMIZE_VERSION}.*Go 1\.24"):
        k8s.kustomize_binary(tmp_path / "cache", report=lambda message: None)


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_every_rendered_object_validates_against_the_kubernetes_or_crd_schema(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    problems = [p for obj in objects for p in k8s.validate_object(obj)]
    assert problems == []
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "Secret"} <= kinds
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "MongoDBCommunity"} <= kinds


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_cross_object_rules_hold_in_every_overlay(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    assert k8s.kafka_problems(objects) == []
    assert k8s.reference_problems(objects) == []
    assert k8s.neo4j_problems(objects) == []


def test_the_validator_refuses_unknown_fields_wrong_types_and_impossible_replication(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = copy.deepcopy(rendered["prod"])
    deployment = named(objects, "Deployment", "resources")
    containers(deployment)[0]["livenessProb"] = containers(deployment)[0].pop("livenessProbe")
    kafka = named(objects, "Kafka", "civicgrid")
    kafka["spec"]["kafka"]["listeners"][0]["tsl"] = kafka["spec"]["kafka"]["listeners"][0].pop("tls")
    mongo = named(objects, "MongoDBCommunity", "resources-mongodb")
    mongo["spec"]["members"] = "three"
    topic = of_kind(objects, "KafkaTopic")[0]
    topic["spec"]["replicas"] = 4

    problems = [p for obj in (deployment, kafka, mongo) for p in k8s.validate_object(obj)]

    assert any("livenessProb" in p for p in problems)
    assert any("'tls' is a required property" in p for p in problems)
    assert any("spec.members" in p for p in problems)
    assert any(f"{k8s.object_id(topic)}: 4 replicas with 3 brokers" in p for p in k8s.kafka_problems(objects))


# --------------------------------------------------------------------------- workloads


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_every_deployment_has_liveness_readiness_and_startup_probes_on_the_service_endpoints(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    deployments = of_kind(rendered[overlay], "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == set(SERVICES)
    for deployment in deployments:
        port = SERVICES[deployment["metadata"]["name"]][0]
        for container in containers(deployment):
            assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert f"{port}" in container["command"]


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_services_start_only_once_the_catalogue_topics_exist(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    for deployment in of_kind(rendered[overlay], "Deployment"):
        name = deployment["metadata"]["name"]
        (wait,) = init_containers(deployment)
        (service,) = containers(deployment)
        assert wait["image"] == service["image"]
        assert wait["envFrom"] == [e for e in service["envFrom"] if "configMapRef" in e]
        assert wait["command"][:2] == ["python", "-c"]
        assert "from civicgrid_contracts.catalogue import all_topics" in wait["command"][2]
        assert wait["command"][3] == f"{SERVICES[name][1]}KAFKA_BOOTSTRAP_SERVERS"
        compile(wait["command"][2], f"{name}/wait-for-topics", "exec")


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_every_container_requests_and_limits_cpu_and_memory(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    for deployment in of_kind(rendered[overlay], "Deployment"):
        for container in containers(deployment) + init_containers(deployment):
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}, deployment["metadata"]["name"]
            assert set(resources["limits"]) == {"cpu", "memory"}, deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_service_pods_run_as_non_root_on_a_read_only_root_filesystem_without_capabilities(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    for deployment in of_kind(rendered[overlay], "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in containers(deployment) + init_containers(deployment):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            if container["name"] == "wait-for-topics":
                continue
            assert "/tmp" in mounts
            assert all(m.get("readOnly") for path, m in mounts.items() if path != "/tmp")


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_every_service_has_a_service_and_a_disruption_budget_selecting_its_pods(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    for name, (port, _, _) in SERVICES.items():
        pod_labels = named(objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        service = named(objects, "Service", name)
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert service["spec"]["ports"][0]["port"] == port
        budget = named(objects, "PodDisruptionBudget", name)
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_prod_runs_three_replicas_of_each_service_autoscaled_with_min_available_and_anti_affinity(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["prod"]
    for name in SERVICES:
        deployment = named(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] >= 3
        autoscaler = named(objects, "HorizontalPodAutoscaler", name)
        assert autoscaler["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert autoscaler["spec"]["minReplicas"] >= 3
        assert autoscaler["spec"]["maxReplicas"] > autoscaler["spec"]["minReplicas"]
        budget = named(objects, "PodDisruptionBudget", name)["spec"]
        assert "maxUnavailable" not in budget
        assert 2 <= budget["minAvailable"] < deployment["spec"]["replicas"]
        pod = deployment["spec"]["template"]["spec"]
        terms = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert {t["podAffinityTerm"]["topologyKey"] for t in terms} == {"kubernetes.io/hostname"}
        assert all(
            t["podAffinityTerm"]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
            for t in terms
        )
        assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


def test_dev_runs_one_small_replica_of_each_service_and_no_autoscaler(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["dev"]
    assert of_kind(objects, "HorizontalPodAutoscaler") == []
    for name in SERVICES:
        deployment = named(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        assert containers(deployment)[0]["resources"]["requests"]["cpu"] == "50m"
        assert named(objects, "PodDisruptionBudget", name)["spec"] == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        }


# --------------------------------------------------------------------------- settings and secrets


def secret_data(secret: Obj) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def env_file(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def pod_environment(objects: list[Obj], name: str) -> dict[str, str]:
    """What the container's environment holds: ConfigMaps and Secrets by envFrom, then env (operator
    written connection strings stand in as a placeholder URI)."""
    container = containers(named(objects, "Deployment", name))[0]
    config_maps = {c["metadata"]["name"]: c["data"] for c in of_kind(objects, "ConfigMap")}
    secrets = {s["metadata"]["name"]: secret_data(s) for s in of_kind(objects, "Secret")}
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            env |= config_maps[source["configMapRef"]["name"]]
        else:
            env |= secrets[source["secretRef"]["name"]]
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in item["valueFrom"]:
            env[item["name"]] = "mongodb://user:password@store-0,store-1,store-2/admin?replicaSet=rs"
        else:
            env[item["name"]] = f"{name}-pod"
    return env


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_each_service_accepts_its_rendered_settings_and_finds_its_keys_where_they_are_mounted(
    rendered: dict[str, list[Obj]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered[overlay]
    for name, (_, prefix, settings_class) in SERVICES.items():
        env = pod_environment(objects, name)
        assert env, name
        assert all(key.startswith(prefix) for key in env), name
        with monkeypatch.context() as patch:
            for key in env:
                patch.setenv(key, env[key])
            settings = settings_class()
        assert settings.environment == "production"
        assert settings.kafka_bootstrap_servers == "civicgrid-kafka-bootstrap:9092"
        unknown = {k for k in env if k.removeprefix(prefix).lower() not in settings_class.model_fields}
        assert unknown == set(), f"{name}: {unknown} are no settings"
        deployment = named(objects, "Deployment", name)
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in containers(deployment)[0]["volumeMounts"]}
        jwt = volumes[mounts[str(settings.keys_dir)]]["secret"]["secretName"]
        assert PUBLIC_NAME in named(objects, "Secret", jwt)["data"]
        if isinstance(settings, NotificationsSettings):
            assert settings.vapid_private_key_path is not None
            vapid = volumes[mounts[str(settings.vapid_private_key_path.parent)]]["secret"]["secretName"]
            assert settings.vapid_private_key_path.name in named(objects, "Secret", vapid)["data"]


def test_org_graph_and_the_neo4j_chart_read_the_same_password(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        password = pod_environment(objects, "org-graph")["ORGGRAPH_NEO4J_PASSWORD"]
        auth = secret_data(named(objects, "Secret", k8s.neo4j_values()["neo4j"]["passwordFromSecret"]))
        assert auth["NEO4J_AUTH"] == f"neo4j/{password}"


def test_no_secret_is_committed_and_an_overlay_without_its_secrets_does_not_render(
    kustomize: Path, tmp_path: Path
) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "deploy/k8s"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    in_secret_dirs = {p for p in listed if "/secrets/" in p}
    assert in_secret_dirs <= {
        f"deploy/k8s/overlays/{o}/secrets/{n}" for o in k8s.OVERLAYS for n in (".gitignore", "README.md")
    }
    for path in listed:
        text = (REPO / path).read_text(errors="replace") if (REPO / path).is_file() else ""
        assert "PRIVATE KEY-----" not in text, path
    copy_root = tmp_path / "k8s"
    shutil.copytree(k8s.K8S_DIR, copy_root, ignore=shutil.ignore_patterns("__pycache__"))
    for overlay in k8s.OVERLAYS:
        secrets_dir = copy_root / "overlays" / overlay / "secrets"
        for child in secrets_dir.iterdir():
            if child.name not in {".gitignore", "README.md"}:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        with pytest.raises(k8s.K8sError, match="secrets/"):
            k8s.kustomize_build(kustomize, copy_root / "overlays" / overlay)
    assert of_kind(k8s.kustomize_build(kustomize, copy_root / "base"), "Secret") == []


def test_the_secrets_tool_fills_an_overlay_once_and_dev_tokens_verify_with_the_mounted_key(
    rendered: dict[str, list[Obj]], tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    written = k8s.write_secrets(secrets_dir, dev_jwt_pair=True)
    assert {f.path for f in k8s.SECRET_FILES} <= {str(p.relative_to(secrets_dir)) for p in written}
    before = {p: p.read_bytes() for p in written}
    assert k8s.write_secrets(secrets_dir, dev_jwt_pair=True) == []
    assert {p: p.read_bytes() for p in written} == before
    password = env_file((secrets_dir / "org-graph.env").read_text())["ORGGRAPH_NEO4J_PASSWORD"]
    assert env_file((secrets_dir / "neo4j-auth.env").read_text()) == {"NEO4J_AUTH": f"neo4j/{password}"}
    with pytest.raises(k8s.K8sError, match="jwt-public-key"):
        k8s.write_secrets(tmp_path / "prod-secrets")

    env = pod_environment(rendered["dev"], "resources")
    token = TokenIssuer(secrets_dir / "jwt", env["RESOURCES_JWT_ISSUER"], env["RESOURCES_JWT_AUDIENCE"]).mint(
        "admin-all", [Role.ADMIN]
    )
    public_key = (secrets_dir / "jwt" / PUBLIC_NAME).read_bytes()
    verifier = TokenVerifier(public_key, env["RESOURCES_JWT_ISSUER"], env["RESOURCES_JWT_AUDIENCE"])
    assert Role.ADMIN in verifier.verify(token).roles


def test_mongodb_users_may_write_their_own_database_only(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        for name in ("resources", "notifications", "deliberation"):
            mongo = named(objects, "MongoDBCommunity", f"{name}-mongodb")
            database = pod_environment(objects, name)[f"{name.upper()}_MONGO_DATABASE"]
            (user,) = mongo["spec"]["users"]
            assert user["roles"] == [{"name": "readWrite", "db": database}]
            uri = next(
                e
                for e in containers(named(objects, "Deployment", name))[0]["env"]
                if e["name"].endswith("_MONGO_URI")
            )
            assert uri["valueFrom"]["secretKeyRef"] == {
                "name": user["connectionStringSecretName"],
                "key": "connectionString.standard",
            }


def test_prod_stores_have_three_members_on_distinct_nodes(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["prod"]
    for mongo in of_kind(objects, "MongoDBCommunity"):
        assert mongo["spec"]["members"] == 3
        affinity = mongo["spec"]["statefulSet"]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        assert (
            affinity["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
            == "kubernetes.io/hostname"
        )
    (pool,) = of_kind(objects, "KafkaNodePool")
    affinity = pool["spec"]["template"]["pod"]["affinity"]["podAntiAffinity"]
    assert (
        affinity["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
        == "kubernetes.io/hostname"
    )


# --------------------------------------------------------------------------- Kafka


def test_prod_kafka_is_three_kraft_nodes_with_replication_three_and_two_in_sync(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["prod"]
    (pool,) = of_kind(objects, "KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    config = named(objects, "Kafka", "civicgrid")["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["auto.create.topics.enable"] is False
    for topic in of_kind(objects, "KafkaTopic"):
        assert topic["spec"]["replicas"] == 3, topic["metadata"]["name"]
        assert topic["spec"]["config"]["min.insync.replicas"] == 2, topic["metadata"]["name"]


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_kafka_topics_are_the_catalogue_with_its_partitions_and_each_groups_redrive_topic(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    topics = {
        t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(rendered[overlay], "KafkaTopic")
    }
    expected = {t.name: t.partitions for t in all_topics()}
    expected |= {redrive_topic(group): 1 for group in k8s.REDRIVE_GROUPS}
    assert topics == expected


def test_the_topics_file_is_generated_from_the_current_catalogue() -> None:
    assert k8s.TOPICS_FILE.read_text() == k8s.topics_yaml(), "run: python -m deploy.k8s topics"


def test_redrive_topics_are_those_the_services_brokers_listen_on(tmp_path: Path) -> None:
    """Read from the services' own wiring (each app's broker, nothing connected), so a consumer group
    added to a service without its redrive topic here fails (resources.memberships once did)."""
    apps: list[tuple[Callable[[Any], FastAPI], type[ServiceSettings]]] = [
        (orggraph_app, OrgGraphSettings),
        (resources_app, ResourcesSettings),
        (notifications_app, NotificationsSettings),
        (deliberation_app, DeliberationSettings),
    ]
    listened: set[str] = set()
    for create_app, settings in apps:
        app = create_app(settings(keys_dir=tmp_path))
        listened |= set(redrive_topics_of(app.state.service.broker))
    assert {redrive_topic(group) for group in k8s.REDRIVE_GROUPS} == listened


# --------------------------------------------------------------------------- network policies


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def allowed(objects: list[Obj], labels: dict[str, str], direction: str) -> set[tuple[str, str]]:
    """(peer, port) pairs the policies selecting a pod with these labels allow, as canonical text."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    found: set[tuple[str, str]] = set()
    for policy in of_kind(objects, "NetworkPolicy"):
        spec = policy["spec"]
        if direction not in spec["policyTypes"] or not selects(spec["podSelector"], labels):
            continue
        for rule in spec.get(key, []):
            peers = [json.dumps(p, sort_keys=True) for p in rule.get(peers_key, [])] or ["ANYWHERE"]
            ports = [f"{p.get('protocol', 'TCP')}/{p.get('port', 'ANY')}" for p in rule.get("ports", [])] or [
                "ANY"
            ]
            found |= {(peer, port) for peer in peers for port in ports}
    return found


def peer(**selectors: Obj) -> str:
    return json.dumps(selectors, sort_keys=True)


DNS = {
    (
        peer(
            namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            podSelector={"matchLabels": {"k8s-app": "kube-dns"}},
        ),
        port,
    )
    for port in ("UDP/53", "TCP/53")
}
KAFKA = {
    (
        peer(
            podSelector={
                "matchLabels": {
                    "strimzi.io/cluster": "civicgrid",
                    "strimzi.io/kind": "Kafka",
                    "strimzi.io/broker-role": "true",
                }
            }
        ),
        "TCP/9092",
    )
}
INGRESS_CONTROLLER = peer(
    namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
    podSelector={"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
)
PROMETHEUS = peer(
    namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    podSelector={"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
)
PUBLIC_HTTPS = {
    (
        json.dumps(
            {
                "ipBlock": {
                    "cidr": "0.0.0.0/0",
                    "except": [
                        "10.0.0.0/8",
                        "100.64.0.0/10",
                        "127.0.0.0/8",
                        "169.254.0.0/16",
                        "172.16.0.0/12",
                        "192.168.0.0/16",
                    ],
                }
            },
            sort_keys=True,
        ),
        "TCP/443",
    ),
    (
        json.dumps(
            {"ipBlock": {"cidr": "::/0", "except": ["fc00::/7", "fe80::/10", "::1/128"]}}, sort_keys=True
        ),
        "TCP/443",
    ),
}
EXPECTED_EGRESS = {
    "org-graph": DNS | KAFKA | {(peer(podSelector={"matchLabels": {"app": "civicgrid-neo4j"}}), "TCP/7687")},
    "resources": DNS
    | KAFKA
    | {(peer(podSelector={"matchLabels": {"app": "resources-mongodb-svc"}}), "TCP/27017")},
    "notifications": DNS
    | KAFKA
    | PUBLIC_HTTPS
    | {(peer(podSelector={"matchLabels": {"app": "notifications-mongodb-svc"}}), "TCP/27017")},
    "deliberation": DNS
    | KAFKA
    | {(peer(podSelector={"matchLabels": {"app": "deliberation-mongodb-svc"}}), "TCP/27017")},
}


@pytest.fixture(params=k8s.OVERLAYS)
def overlay_objects(request: pytest.FixtureRequest, rendered: dict[str, list[Obj]]) -> list[Obj]:
    objects: list[Obj] = rendered[request.param]
    return objects


def test_everything_in_the_namespace_is_denied_unless_a_policy_allows_it(overlay_objects: list[Obj]) -> None:
    deny = named(overlay_objects, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for policy in of_kind(overlay_objects, "NetworkPolicy"):
        for rule in [*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])]:
            assert rule.get("from") or rule.get("to"), f"{policy['metadata']['name']} allows any peer"


def test_each_service_reaches_only_dns_kafka_and_its_own_store(overlay_objects: list[Obj]) -> None:
    for name in SERVICES:
        labels = named(overlay_objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert allowed(overlay_objects, labels, "Egress") == EXPECTED_EGRESS[name], name


def test_each_service_is_reached_only_from_the_ingress_controller_and_prometheus(
    overlay_objects: list[Obj],
) -> None:
    """Its own port from the ingress controller; /metrics (any service port: one policy serves the four)
    from Prometheus in the monitoring namespace; nothing else."""
    scrape = {(PROMETHEUS, f"TCP/{p}") for p, _, _ in SERVICES.values()}
    for name, (port, _, _) in SERVICES.items():
        labels = named(overlay_objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert (
            allowed(overlay_objects, labels, "Ingress") == {(INGRESS_CONTROLLER, f"TCP/{port}")} | scrape
        ), name


def test_each_store_admits_only_its_own_service(overlay_objects: list[Obj]) -> None:
    def pods(**labels: str) -> str:
        return peer(podSelector={"matchLabels": labels})

    stores = {
        "org-graph": ({"app": "civicgrid-neo4j"}, "TCP/7687", set()),
        "resources": ({"app": "resources-mongodb-svc"}, "TCP/27017", {pods(app="resources-mongodb-svc")}),
        "notifications": (
            {"app": "notifications-mongodb-svc"},
            "TCP/27017",
            {pods(app="notifications-mongodb-svc")},
        ),
        "deliberation": (
            {"app": "deliberation-mongodb-svc"},
            "TCP/27017",
            {pods(app="deliberation-mongodb-svc")},
        ),
    }
    for name, (store_labels, port, members) in stores.items():
        service = pods(**{"app.kubernetes.io/name": name})
        expected = {(p, port) for p in {service} | members}
        assert allowed(overlay_objects, store_labels, "Ingress") == expected, name
    listener = named(overlay_objects, "Kafka", "civicgrid")["spec"]["kafka"]["listeners"]
    (expression,) = listener[0]["networkPolicyPeers"][0]["podSelector"]["matchExpressions"]
    assert (listener[0]["port"], sorted(expression["values"])) == (9092, sorted(SERVICES))
