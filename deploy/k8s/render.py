"""Render the Kustomize overlays with a pinned kustomize, and check what they render, offline.

    python -m deploy.k8s install                 the pinned kustomize (built once with Go, then cached)
    python -m deploy.k8s build prod              kustomize build overlays/prod (its secrets/ filled)
    python -m deploy.k8s build dev --throwaway-secrets   render with generated secrets (nothing written here)
    python -m deploy.k8s check                   render every overlay with throwaway secrets and validate it
    python -m deploy.k8s secrets dev             fill overlays/dev/secrets/ (never overwrites a file)
    python -m deploy.k8s topics [--check]        regenerate base/kafka/topics.yaml from the topic catalogue

Rendering is real kustomize (``sigs.k8s.io/kustomize/kustomize/v5``, pinned), installed with
``go install`` from the Go module proxy into ``$CIVICGRID_CACHE/kustomize/<version>/`` (default
``~/.cache/civicgrid``) the way deploy/local builds its servers: the same overlays an operator applies
with ``kubectl apply -k`` are the ones checked, not a re-implementation of Kustomize.

Validation needs no cluster and no network: the Kubernetes kinds against the JSON schemas the
``kubernetes-validate`` package ships (strict: an unknown field is an error, as ``kubectl apply``'s
default strict field validation makes it), for the oldest and newest Kubernetes this targets; the
Strimzi and MongoDB operator kinds against their CRDs' own schemas, vendored in ``schemas/`` (descriptions
removed; see schemas/NOTICE.md), made strict the same way; then the cross-object rules no schema can
say: replication factor against brokers, every referenced Secret and ConfigMap present, the topic
list equal to the catalogue, the Neo4j Helm values agreeing with what org-graph connects to.
"""

from __future__ import annotations

import argparse
import functools
import importlib.resources
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from referencing import Registry, Resource

from civicgrid_contracts.catalogue import all_topics, redrive_topic
from civicgrid_runtime.auth.keys import PRIVATE_NAME, PUBLIC_NAME, ensure_dev_keys
from deploy.local.cache import BuildError, CacheEntry, file_lock, fingerprint, run_step
from deploy.local.config import Settings
from deploy.local.toolchain import ToolchainError, require

K8S_DIR = Path(__file__).resolve().parent
OVERLAYS = ("dev", "prod")
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.1"
"""v5.8.1 needs Go 1.24 (as the FerretDB build does); v5.8.2 needs 1.26 and v5.8.3 Go 1.27."""

KUBERNETES_VERSIONS = ("1.32", "1.37")
"""Every overlay is validated against the oldest Kubernetes it targets and the newest the
``kubernetes-validate`` package ships schemas for."""

NAMESPACE = "civicgrid"
KAFKA_CLUSTER = "civicgrid"
TOPICS_FILE = K8S_DIR / "base" / "kafka" / "topics.yaml"
SCHEMAS_DIR = K8S_DIR / "schemas"
NEO4J_VALUES = K8S_DIR / "neo4j" / "values.yaml"

TOPIC_REPLICAS = 3
TOPIC_MIN_INSYNC_REPLICAS = 2
REDRIVE_GROUPS = (
    "org-graph",
    "resources.places",
    "resources.hotline",
    "resources.deliberation",
    "resources.memberships",
    "notifications",
    "deliberation.org",
    "deliberation.households",
)
"""The services' consumer groups (default settings). Each listens on ``civicgrid.redrive.<group>``
(one partition; civicgrid_runtime.kafka.consumer), which brokers here do not create by themselves."""

SERVICES = ("org-graph", "resources", "notifications", "deliberation")

Report = Callable[[str], None]
Obj = dict[str, Any]


class K8sError(RuntimeError):
    """Rendering failed: kustomize could not be installed or refused an overlay."""


# --------------------------------------------------------------------------- kustomize


def kustomize_root(cache_dir: Path | None = None) -> Path:
    cache = cache_dir or Settings.from_env().cache_dir
    return cache / "kustomize" / KUSTOMIZE_VERSION


def kustomize_binary(cache_dir: Path | None = None, report: Report = print) -> Path:
    """The pinned kustomize, built with ``go install`` on first use (minutes), then cached."""
    root = kustomize_root(cache_dir)
    binary = root / "kustomize"
    entry = CacheEntry(root, fingerprint("kustomize", KUSTOMIZE_MODULE, KUSTOMIZE_VERSION))
    if entry.is_complete() and binary.is_file():
        return binary
    with file_lock(root.parent / f".{KUSTOMIZE_VERSION}.lock"):
        if entry.is_complete() and binary.is_file():
            return binary
        try:
            go = require(["go"])["go"]
        except ToolchainError:
            raise K8sError(
                f"rendering deploy/k8s needs kustomize {KUSTOMIZE_VERSION}, built once with Go 1.24 or newer "
                f"(`go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}`), and `go` is not on PATH"
            ) from None
        report(f"kustomize: go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} into {root} (first run only)")
        root.mkdir(parents=True, exist_ok=True)
        entry.invalidate()
        staging = root / "bin"
        shutil.rmtree(staging, ignore_errors=True)
        env = {**os.environ, "GOBIN": str(staging), "CGO_ENABLED": "0"}
        seconds = run_step(
            [go, "install", "-trimpath", "-ldflags=-s -w", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            cwd=root,
            log_path=root / "install.log",
            env=env,
        )
        built = staging / "kustomize"
        if not built.is_file():
            raise BuildError(f"go install finished but {built} is missing; see {root / 'install.log'}")
        os.replace(built, binary)
        shutil.rmtree(staging, ignore_errors=True)
        entry.mark_complete()
        report(f"kustomize: installed in {seconds:.0f} s")
        return binary


def kustomize_build(kustomize: Path, overlay_dir: Path) -> list[Obj]:
    """``kustomize build <overlay_dir>``, parsed; :class:`K8sError` with kustomize's message."""
    result = subprocess.run(
        [str(kustomize), "build", str(overlay_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise K8sError(f"kustomize build {overlay_dir} failed:\n{result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


# --------------------------------------------------------------------------- topics


def _resource_name(topic: str) -> str:
    return topic.replace(".", "-").replace("_", "-")


def kafka_topics() -> list[Obj]:
    """A KafkaTopic per catalogue topic (dead-letter topics included) and per consumer group's
    redrive topic, with the catalogue's partition counts."""
    wanted = [(t.name, t.partitions) for t in all_topics()]
    wanted += [(redrive_topic(group), 1) for group in REDRIVE_GROUPS]
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": {"name": _resource_name(name), "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
            "spec": {
                "topicName": name,
                "partitions": partitions,
                "replicas": TOPIC_REPLICAS,
                "config": {"min.insync.replicas": TOPIC_MIN_INSYNC_REPLICAS},
            },
        }
        for name, partitions in wanted
    ]


def topics_yaml() -> str:
    header = (
        "# GENERATED by `python -m deploy.k8s topics` from contracts/civicgrid_contracts/catalogue.py\n"
        "# (every topic, its dead-letter topic and each consumer group's redrive topic). Do not edit:\n"
        "# change the catalogue and regenerate; tests/unit/test_k8s_manifests.py fails when they differ.\n"
    )
    docs = [yaml.safe_dump(t, sort_keys=False, default_flow_style=False) for t in kafka_topics()]
    return header + "---\n" + "---\n".join(docs)


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True)
class SecretFile:
    path: str
    what: str


SECRET_FILES = (
    SecretFile(f"jwt/{PUBLIC_NAME}", "Ed25519 public key (PEM) that verifies the bearer tokens"),
    SecretFile("vapid_private.pem", "P-256 private key (PEM) notifications signs Web Push with (VAPID)"),
    SecretFile("org-graph.env", "ORGGRAPH_ID_HASH_SALT=<random> and ORGGRAPH_NEO4J_PASSWORD=<password>"),
    SecretFile("neo4j-auth.env", "NEO4J_AUTH=neo4j/<the same password>"),
    SecretFile("resources-mongodb-password", "the resources MongoDB user's password"),
    SecretFile("notifications-mongodb-password", "the notifications MongoDB user's password"),
    SecretFile("deliberation-mongodb-password", "the deliberation MongoDB user's password"),
)
"""What an overlay's ``secrets/`` directory must hold (its kustomization's secretGenerator reads them)."""


def _write_new(path: Path, content: bytes, written: list[Path]) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    written.append(path)


def _env_value(path: Path, key: str) -> str | None:
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    return None


def write_secrets(
    secrets_dir: Path, jwt_public_key: Path | None = None, dev_jwt_pair: bool = False
) -> list[Path]:
    """Fill ``secrets_dir`` with what :data:`SECRET_FILES` lists; returns the files written.

    Never overwrites: a salt, password or key already there stays (changing the ID-hash salt or a
    database password under a running system breaks it). Passwords, the salt and the VAPID key are
    random. The JWT public key is copied from ``jwt_public_key`` (the identity provider's), or with
    ``dev_jwt_pair`` a development pair is generated and its private key kept beside it, so that
    ``python -m civicgrid_runtime.auth mint --keys-dir <secrets_dir>/jwt`` mints tokens it accepts.
    """
    written: list[Path] = []
    public = secrets_dir / "jwt" / PUBLIC_NAME
    if not public.exists():
        if jwt_public_key is not None:
            _write_new(public, jwt_public_key.read_bytes(), written)
        elif dev_jwt_pair:
            ensure_dev_keys(public.parent)
            written += [public.parent / PRIVATE_NAME, public]
        else:
            raise K8sError(f"{public} is missing: pass the identity provider's public key (--jwt-public-key)")
    vapid = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(secrets_dir / "vapid_private.pem", vapid, written)
    org_graph_env = secrets_dir / "org-graph.env"
    password = _env_value(org_graph_env, "ORGGRAPH_NEO4J_PASSWORD") or secrets.token_urlsafe(24)
    salt = secrets.token_urlsafe(32)
    _write_new(
        org_graph_env,
        f"ORGGRAPH_ID_HASH_SALT={salt}\nORGGRAPH_NEO4J_PASSWORD={password}\n".encode(),
        written,
    )
    _write_new(secrets_dir / "neo4j-auth.env", f"NEO4J_AUTH=neo4j/{password}\n".encode(), written)
    for name in (
        "resources-mongodb-password",
        "notifications-mongodb-password",
        "deliberation-mongodb-password",
    ):
        _write_new(secrets_dir / name, secrets.token_urlsafe(24).encode(), written)
    return written


def staged_tree(destination: Path) -> Path:
    """A copy of deploy/k8s (without any secrets an overlay holds) whose overlays have throwaway
    secrets: what CI renders, so that nothing secret is ever needed or written in the work tree."""
    root = destination / "k8s"

    def ignore(directory: str, names: list[str]) -> list[str]:
        skip = [n for n in names if n in {"__pycache__"} or n.endswith(".py")]
        if Path(directory).name == "secrets":
            skip += [n for n in names if n not in {".gitignore", "README.md"}]
        return skip

    shutil.copytree(K8S_DIR, root, ignore=ignore)
    for overlay in OVERLAYS:
        write_secrets(root / "overlays" / overlay / "secrets", dev_jwt_pair=True)
    return root


def render(overlay: str, kustomize: Path, throwaway_secrets: bool = True) -> list[Obj]:
    """The objects an overlay renders to; with throwaway secrets from a staged copy of the tree."""
    if overlay not in OVERLAYS:
        raise K8sError(f"unknown overlay {overlay!r}; choose from {', '.join(OVERLAYS)}")
    if not throwaway_secrets:
        return kustomize_build(kustomize, K8S_DIR / "overlays" / overlay)
    with tempfile.TemporaryDirectory(prefix="civicgrid-k8s-") as tmp:
        return kustomize_build(kustomize, staged_tree(Path(tmp)) / "overlays" / overlay)


# --------------------------------------------------------------------------- schemas


def _api_group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


@functools.cache
def _core_schema_dir(version: str) -> Path:
    root = Path(str(importlib.resources.files("kubernetes_validate"))) / "kubernetes-json-schema"
    directory = root / f"v{version}.0-local-strict"
    if not directory.is_dir():
        shipped = sorted(p.name for p in root.iterdir() if p.name.endswith("-local-strict"))
        raise K8sError(f"kubernetes-validate ships no schemas for Kubernetes {version} (it has {shipped})")
    return directory


@functools.cache
def _core_registry(version: str) -> Registry[Any]:
    definitions = json.loads((_core_schema_dir(version) / "_definitions.json").read_text())
    resource: Resource[Any] = Resource.from_contents(definitions)
    return resource @ Registry()


@functools.cache
def _core_validator(version: str, api_version: str, kind: str) -> Any:
    mangled = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _core_schema_dir(version) / f"{kind.lower()}-{mangled}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=_core_registry(version))


@functools.cache
def _object_meta_validator(version: str) -> Any:
    ref = {
        "$ref": "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    }
    return jsonschema.Draft202012Validator(ref, registry=_core_registry(version))


def strict_schema(schema: Any) -> Any:
    """A CRD's structural schema with unknown fields refused wherever the API server prunes them
    (an object with ``properties``, no ``additionalProperties``, not preserving unknown fields)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: strict_schema(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(out["additionalProperties"])
    if isinstance(out.get("items"), dict):
        out["items"] = strict_schema(out["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [strict_schema(s) for s in out[key]]
    return out


def crd_schema_path(api_version: str, kind: str) -> Path:
    group, version = _api_group_version(api_version)
    return SCHEMAS_DIR / f"{kind.lower()}.{group}.{version}.json"


@functools.cache
def _crd_validator(api_version: str, kind: str) -> Any:
    path = crd_schema_path(api_version, kind)
    if not path.is_file():
        return None
    return jsonschema.Draft202012Validator(strict_schema(json.loads(path.read_text())))


def strip_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: strip_descriptions(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [strip_descriptions(v) for v in schema]
    return schema


def vendor_crd(crd_file: Path) -> list[Path]:
    """Write the openAPIV3Schema of each served version of a CRD (YAML) into schemas/."""
    written: list[Path] = []
    for crd in yaml.safe_load_all(crd_file.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            path = crd_schema_path(f"{group}/{version['name']}", kind)
            schema = strip_descriptions(version["schema"]["openAPIV3Schema"])
            path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            written.append(path)
    return written


# --------------------------------------------------------------------------- validation

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAMES = {"Namespace", "Service"}
"""Kinds whose names must be DNS labels (no dots, 63 characters), not just DNS subdomains."""


def object_id(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('name')}"


def _errors(validator: Any, instance: Any) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message[:300]}" for e in found]


def validate_object(obj: Obj, kubernetes_versions: Sequence[str] = KUBERNETES_VERSIONS) -> list[str]:
    """Schema problems of one rendered object, each prefixed with Kind/name."""
    where = object_id(obj)
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    problems: list[str] = []
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    pattern, limit = (_DNS_LABEL, 63) if kind in _LABEL_NAMES else (_DNS_SUBDOMAIN, 253)
    if not pattern.match(name) or len(name) > limit:
        problems.append(f"{where}: metadata.name {name!r} is not a valid {kind} name")
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.append(f"{where}: label {key}={value!r} is not a valid label value")
    crd = _crd_validator(api_version, kind)
    for version in kubernetes_versions:
        core = _core_validator(version, api_version, kind)
        if core is not None:
            problems += [f"{where} (Kubernetes {version}): {e}" for e in _errors(core, obj)]
        elif crd is not None:
            meta_errors = _errors(_object_meta_validator(version), meta)
            problems += [f"{where} (Kubernetes {version}): metadata.{e}" for e in meta_errors]
        else:
            problems.append(f"{where}: no schema for {api_version} {kind} (Kubernetes {version}, schemas/)")
    if crd is not None:
        problems += [f"{where} ({api_version} CRD schema): {e}" for e in _errors(crd, obj)]
    return list(dict.fromkeys(problems))


def _by_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o.get("kind") == kind]


def _pod_specs(objects: Iterable[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objects:
        if obj.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield obj, obj["spec"]["template"]["spec"]


def referenced_secrets(objects: Sequence[Obj]) -> dict[str, set[str]]:
    """Secret name -> the objects that read it (pods, and the operator resources' password refs)."""
    refs: dict[str, set[str]] = {}

    def add(name: str | None, by: Obj) -> None:
        if name:
            refs.setdefault(name, set()).add(object_id(by))

    for obj, pod in _pod_specs(objects):
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            for source in container.get("envFrom", []):
                add((source.get("secretRef") or {}).get("name"), obj)
            for env in container.get("env", []):
                add(((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name"), obj)
        for volume in pod.get("volumes", []):
            add((volume.get("secret") or {}).get("secretName"), obj)
    for mongo in _by_kind(objects, "MongoDBCommunity"):
        for user in mongo["spec"].get("users", []):
            add((user.get("passwordSecretRef") or {}).get("name"), mongo)
    return refs


def operator_written_secrets(objects: Sequence[Obj]) -> set[str]:
    """Secrets an operator creates: the MongoDB users' connection strings."""
    return {
        user["connectionStringSecretName"]
        for mongo in _by_kind(objects, "MongoDBCommunity")
        for user in mongo["spec"].get("users", [])
        if user.get("connectionStringSecretName")
    }


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def kafka_problems(objects: Sequence[Obj]) -> list[str]:
    """Replication against the brokers there are, the quorum, and the topic list against the catalogue."""
    problems: list[str] = []
    clusters = _by_kind(objects, "Kafka")
    if len(clusters) != 1:
        return [f"expected one Kafka resource, found {len(clusters)}"]
    cluster = clusters[0]
    name = cluster["metadata"]["name"]
    pools = [
        p
        for p in _by_kind(objects, "KafkaNodePool")
        if p["metadata"].get("labels", {}).get("strimzi.io/cluster") == name
    ]
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    if brokers < 1 or controllers < 1:
        problems.append(f"Kafka/{name}: {brokers} brokers and {controllers} controllers in its node pools")
    if controllers % 2 == 0:
        problems.append(
            f"Kafka/{name}: {controllers} KRaft controllers (an even quorum tolerates no more failures)"
        )
    config = cluster["spec"]["kafka"].get("config", {})
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        if _int(config.get(key), 0) > brokers:
            problems.append(f"Kafka/{name}: {key}={config.get(key)} but only {brokers} brokers")
    default_rf = _int(config.get("default.replication.factor"), 1)
    if not _isr_ok(_int(config.get("min.insync.replicas"), 1), default_rf):
        problems.append(
            f"Kafka/{name}: min.insync.replicas={config.get('min.insync.replicas')} with RF {default_rf}"
        )
    if str(config.get("auto.create.topics.enable")).lower() != "false":
        problems.append(
            f"Kafka/{name}: auto.create.topics.enable must be false (topics are KafkaTopic resources)"
        )
    expected = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in kafka_topics()}
    rendered: dict[str, int] = {}
    for topic in _by_kind(objects, "KafkaTopic"):
        where = object_id(topic)
        spec = topic["spec"]
        rendered[spec.get("topicName", topic["metadata"]["name"])] = spec.get("partitions")
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") != name:
            problems.append(f"{where}: not labelled strimzi.io/cluster={name}")
        replicas = _int(spec.get("replicas"), 0)
        if not 1 <= replicas <= brokers:
            problems.append(f"{where}: {replicas} replicas with {brokers} brokers")
        isr = _int(spec.get("config", {}).get("min.insync.replicas"), 0)
        if not _isr_ok(isr, replicas):
            problems.append(f"{where}: min.insync.replicas={isr} with {replicas} replicas")
    if rendered != expected:
        missing = sorted(set(expected) - set(rendered))
        extra = sorted(set(rendered) - set(expected))
        differ = sorted(t for t in set(expected) & set(rendered) if expected[t] != rendered[t])
        problems.append(
            f"KafkaTopics differ from the catalogue: missing {missing}, extra {extra}, partitions {differ}"
        )
    return problems


def _isr_ok(isr: int, replicas: int) -> bool:
    """One in-sync replica for an unreplicated topic; otherwise at least 2 and fewer than the
    replicas (so one broker down still takes writes)."""
    return isr == 1 if replicas == 1 else 2 <= isr < replicas


def reference_problems(objects: Sequence[Obj]) -> list[str]:
    problems: list[str] = []
    rendered_secrets = {o["metadata"]["name"] for o in _by_kind(objects, "Secret")}
    external = operator_written_secrets(objects)
    for name, users in sorted(referenced_secrets(objects).items()):
        if name not in rendered_secrets and name not in external:
            problems.append(
                f"Secret/{name} read by {sorted(users)} is neither rendered nor written by an operator"
            )
    config_maps = {o["metadata"]["name"] for o in _by_kind(objects, "ConfigMap")}
    for obj, pod in _pod_specs(objects):
        for container in pod.get("containers", []):
            for source in container.get("envFrom", []):
                ref = (source.get("configMapRef") or {}).get("name")
                if ref and ref not in config_maps:
                    problems.append(f"{object_id(obj)} reads ConfigMap/{ref}, which is not rendered")
    for obj in objects:
        if obj.get("kind") != "Namespace" and obj["metadata"].get("namespace") != NAMESPACE:
            problems.append(
                f"{object_id(obj)}: namespace {obj['metadata'].get('namespace')!r}, not {NAMESPACE}"
            )
    return problems


def neo4j_values() -> Obj:
    values: Obj = yaml.safe_load(NEO4J_VALUES.read_text())
    return values


def neo4j_problems(objects: Sequence[Obj]) -> list[str]:
    """The Helm values agree with the rendered overlay: the auth Secret, the Service name org-graph
    dials, the pod label the network policies select, no LoadBalancer."""
    values = neo4j_values()
    problems: list[str] = []
    neo4j = values.get("neo4j", {})
    auth = neo4j.get("passwordFromSecret")
    auth_secret = [s for s in _by_kind(objects, "Secret") if s["metadata"]["name"] == auth]
    if not auth_secret or "NEO4J_AUTH" not in auth_secret[0].get("data", {}):
        problems.append(
            f"neo4j/values.yaml: passwordFromSecret {auth!r} is not a rendered Secret with NEO4J_AUTH"
        )
    if values.get("services", {}).get("neo4j", {}).get("enabled", True):
        problems.append("neo4j/values.yaml: services.neo4j.enabled must be false (the chart's LoadBalancer)")
    config = [
        c for c in _by_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith("org-graph-config")
    ]
    uri = config[0]["data"].get("ORGGRAPH_NEO4J_URI", "") if config else ""
    release = NEO4J_RELEASE
    if not re.match(
        rf"^(bolt|neo4j)(\+s|\+ssc)?://{re.escape(release)}(\.{NAMESPACE}(\.svc(\.[a-z.]+)?)?)?:7687$", uri
    ):
        problems.append(
            f"ORGGRAPH_NEO4J_URI {uri!r} is not the {release} Service of the Helm release on 7687"
        )
    pod_label = neo4j.get("name")
    selected = {
        json.dumps(p["spec"]["podSelector"], sort_keys=True)
        for p in _by_kind(objects, "NetworkPolicy")
        if p["metadata"]["name"] == "neo4j"
    }
    if selected != {json.dumps({"matchLabels": {"app": pod_label}}, sort_keys=True)}:
        problems.append(f"NetworkPolicy/neo4j does not select the chart's pods (app: {pod_label})")
    return problems


NEO4J_RELEASE = "civicgrid-neo4j"
"""``helm install civicgrid-neo4j ...``: the release name is the Service name org-graph dials."""


def check_objects(
    objects: Sequence[Obj], kubernetes_versions: Sequence[str] = KUBERNETES_VERSIONS
) -> list[str]:
    """Every problem of one rendered overlay: schemas, then the cross-object rules."""
    problems: list[str] = []
    for obj in objects:
        problems += validate_object(obj, kubernetes_versions)
    return problems + kafka_problems(objects) + reference_problems(objects) + neo4j_problems(objects)


# --------------------------------------------------------------------------- command line


def _dump(objects: Sequence[Obj]) -> str:
    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.k8s", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install the pinned kustomize and print its path")
    build = sub.add_parser("build", help="render an overlay to stdout")
    build.add_argument("overlay", choices=OVERLAYS)
    build.add_argument(
        "--throwaway-secrets", action="store_true", help="generated secrets, not the overlay's"
    )
    check = sub.add_parser("check", help="render every overlay with throwaway secrets and validate it")
    check.add_argument(
        "overlays", nargs="*", metavar="overlay", help=f"any of {', '.join(OVERLAYS)} (default: all)"
    )
    fill = sub.add_parser("secrets", help="fill an overlay's secrets/ directory (never overwrites)")
    fill.add_argument("overlay", choices=OVERLAYS)
    fill.add_argument("--jwt-public-key", type=Path, help="the identity provider's Ed25519 public key (PEM)")
    topics = sub.add_parser("topics", help="regenerate base/kafka/topics.yaml from the catalogue")
    topics.add_argument("--check", action="store_true", help="only say whether the file is up to date")
    vendor = sub.add_parser("vendor-crd", help="store a CRD's schema (descriptions removed) in schemas/")
    vendor.add_argument("crd", type=Path, nargs="+")
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        if args.command == "install":
            print(kustomize_binary(report=say))
        elif args.command == "build":
            print(_dump(render(args.overlay, kustomize_binary(report=say), args.throwaway_secrets)), end="")
        elif args.command == "check":
            kustomize = kustomize_binary(report=say)
            failed = False
            for overlay in args.overlays or OVERLAYS:
                objects = render(overlay, kustomize)
                problems = check_objects(objects)
                failed = failed or bool(problems)
                say(f"{overlay}: {len(objects)} objects, {len(problems)} problems")
                for problem in problems:
                    say(f"  {problem}")
            return 1 if failed else 0
        elif args.command == "secrets":
            directory = K8S_DIR / "overlays" / args.overlay / "secrets"
            written = write_secrets(directory, args.jwt_public_key, dev_jwt_pair=args.overlay == "dev")
            for path in written:
                say(f"wrote {path}")
            say(f"{directory}: complete ({len(written)} written, existing files kept)")
        elif args.command == "topics":
            current = TOPICS_FILE.read_text() if TOPICS_FILE.exists() else ""
            if args.check:
                ok = current == topics_yaml()
                say(f"{TOPICS_FILE}: {'up to date' if ok else 'differs from the catalogue; regenerate it'}")
                return 0 if ok else 1
            TOPICS_FILE.write_text(topics_yaml())
            say(f"wrote {TOPICS_FILE} ({len(kafka_topics())} topics)")
        elif args.command == "vendor-crd":
            for crd in args.crd:
                for path in vendor_crd(crd):
                    say(f"wrote {path}")
    except (K8sError, BuildError) as error:
        say(str(error))
        return 1
    return 0
