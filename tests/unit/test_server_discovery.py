import pytest

from tests.support import servers as discovery
from tests.support.servers import ServerUnavailable, resolve_servers

URLS = {
    "CIVICGRID_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    "CIVICGRID_NEO4J_URI": "bolt://127.0.0.1:2",
    "CIVICGRID_MONGO_URI": "mongodb://127.0.0.1:3",
}


@pytest.fixture(autouse=True)
def _no_environment_urls(monkeypatch):
    for variable in URLS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(discovery, "_docker_answers", lambda: False)


def test_urls_from_the_environment_win_over_local_servers(monkeypatch):
    monkeypatch.setenv("CIVICGRID_NEO4J_URI", "bolt://elsewhere:7687")
    asked: list[list[str]] = []

    def local(names: list[str]) -> dict[str, str]:
        asked.append(names)
        return URLS

    found = resolve_servers(local)
    assert found.neo4j_uri == "bolt://elsewhere:7687"
    assert found.origin == {"neo4j": "environment", "kafka": "local", "ferretdb": "local"}
    assert asked == [["kafka", "ferretdb"]]


def test_local_servers_are_started_when_nothing_is_configured():
    found = resolve_servers(lambda names: URLS)
    assert (found.kafka_bootstrap, found.mongo_uri) == ("127.0.0.1:1", "mongodb://127.0.0.1:3")


def test_no_server_and_no_docker_is_an_error_naming_what_is_missing():
    def local(names: list[str]) -> dict[str, str]:
        raise SystemExit("java is missing")

    with pytest.raises(ServerUnavailable) as error:
        resolve_servers(local)
    message = str(error.value)
    assert "CIVICGRID_KAFKA_BOOTSTRAP" in message
    assert "java is missing" in message
