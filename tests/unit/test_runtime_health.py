from fastapi.testclient import TestClient

from civicgrid_runtime.errors import RuleViolation
from civicgrid_runtime.http import HealthChecks, create_service_app


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionError("refused")


def test_readyz_is_503_and_names_the_failing_dependency():
    health = HealthChecks()
    health.add("kafka", _ok)
    health.add("neo4j", _down)
    client = TestClient(create_service_app("t", "t", health))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["kafka"] == "ok"
    assert "refused" in response.json()["checks"]["neo4j"]


def test_healthz_answers_even_when_dependencies_are_down():
    health = HealthChecks()
    health.add("neo4j", _down)
    assert TestClient(create_service_app("t", "t", health)).get("/healthz").status_code == 200


def test_a_rule_violation_becomes_a_422_naming_the_rule_and_the_correlation_id_is_echoed():
    app = create_service_app("t", "t", HealthChecks())

    @app.get("/boom")
    async def boom() -> None:
        raise RuleViolation("owners_committee_needs_assembly_basis", "no owners' assembly vote recorded")

    response = TestClient(app).get("/boom", headers={"X-Correlation-ID": "abc123"})
    assert response.status_code == 422
    assert response.json()["rule"] == "owners_committee_needs_assembly_basis"
    assert response.headers["X-Correlation-ID"] == "abc123"
