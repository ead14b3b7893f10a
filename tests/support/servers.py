"""Finding real servers for integration tests, in this order:

1. URLs from the environment: CIVICGRID_KAFKA_BOOTSTRAP, CIVICGRID_NEO4J_URI, CIVICGRID_MONGO_URI
   (``./civicgrid test`` sets them to the test stack's servers);
2. the project's local servers of the *test* stack (``python -m deploy.local up --stack test``: state in
   ``.local/test``, every port + 10000), started if needed; never the development stack of
   ``./civicgrid up`` (ports 9092/7687/27017), whose demo data the tests must leave alone;
3. testcontainers, when a Docker daemon answers.

A server that cannot be had is an error (never a skip), in CI and elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENV = {
    "kafka": "CIVICGRID_KAFKA_BOOTSTRAP",
    "neo4j": "CIVICGRID_NEO4J_URI",
    "ferretdb": "CIVICGRID_MONGO_URI",
}


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    neo4j_uri: str
    mongo_uri: str
    origin: dict[str, str]


class ServerUnavailable(RuntimeError):
    pass


def _from_local(names: list[str]) -> dict[str, str]:
    from deploy.local.config import Settings
    from deploy.local.servers import ensure_up

    return ensure_up(names, settings=Settings.from_env().for_stack("test"))


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


_containers: list[Any] = []


def _from_testcontainers(name: str) -> str:
    if name == "kafka":
        from testcontainers.community.kafka import KafkaContainer

        kafka = KafkaContainer().with_kraft()
        kafka.start()
        _containers.append(kafka)
        return str(kafka.get_bootstrap_server())
    if name == "neo4j":
        from testcontainers.community.neo4j import Neo4jContainer

        neo = Neo4jContainer("neo4j:5.26-community")
        neo.start()
        _containers.append(neo)
        return str(neo.get_connection_url())
    from testcontainers.community.mongodb import MongoDbContainer

    mongo = MongoDbContainer("mongo:7")
    mongo.start()
    _containers.append(mongo)
    return str(mongo.get_connection_url())


def resolve_servers(local: Callable[[list[str]], dict[str, str]] = _from_local) -> Servers:
    found: dict[str, str] = {}
    origin: dict[str, str] = {}
    for name, var in ENV.items():
        if os.environ.get(var):
            found[name], origin[name] = os.environ[var], "environment"
    missing = [n for n in ENV if n not in found]
    local_error = ""
    if missing:
        try:
            urls = local(missing)
            for name in missing:
                found[name], origin[name] = urls[ENV[name]], "local"
        except (Exception, SystemExit) as error:
            local_error = f"{type(error).__name__}: {error}"
    missing = [n for n in ENV if n not in found]
    if missing and _docker_answers():
        for name in missing:
            found[name], origin[name] = _from_testcontainers(name), "testcontainers"
    missing = [n for n in ENV if n not in found]
    if missing:
        raise ServerUnavailable(
            f"no {', '.join(missing)} for the integration tests: set {', '.join(ENV[n] for n in missing)}, "
            f"or let `python -m deploy.local up --stack test` start them ({local_error or 'not tried'}), "
            "or run a Docker daemon for testcontainers"
        )
    return Servers(found["kafka"], found["neo4j"], found["ferretdb"], origin)


def stop_containers() -> None:
    while _containers:
        _containers.pop().stop()
