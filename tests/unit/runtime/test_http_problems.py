"""Error answers are RFC 9457 problems; outages answer 503 quickly; large bodies are refused early."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pymongo.errors import ServerSelectionTimeoutError

from civicgrid_runtime.errors import NotFound, RuleViolation, StoreUnavailable
from civicgrid_runtime.http import Authenticator, HealthChecks, create_service_app
from civicgrid_runtime.http.problems import PROBLEM_JSON
from civicgrid_runtime.kafka import create_broker
from civicgrid_runtime.kafka.broker import consumer_stalls
from civicgrid_runtime.kafka.stalls import Stall
from civicgrid_runtime.logging import configure_logging
from civicgrid_runtime.service import ServiceLifecycle
from civicgrid_runtime.settings import ServiceSettings

PHONE, ID_NUMBER = "13812345678", "42010619900101123X"
RFC_KEYS = {"type", "title", "status", "detail"}


class Body(BaseModel):
    name: str


def _app(**options: object) -> FastAPI:
    app = create_service_app("t", "t", HealthChecks(), **options)  # type: ignore[arg-type]

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/rule")
    async def rule() -> None:
        raise RuleViolation("grid_needs_a_community", "a grid belongs to one community")

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("no such building", building_code="B-1")

    @app.get("/mongo-down")
    async def mongo_down() -> None:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    @app.get("/migrating")
    async def migrating() -> None:
        raise StoreUnavailable("read-only while migrating", retry_after_seconds=30)

    @app.get("/wrapped")
    async def wrapped() -> None:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as error:
            raise RuntimeError("could not read the projection") from error

    @app.get("/bug")
    async def bug() -> None:
        raise ValueError(f"cannot parse resident {PHONE} with id {ID_NUMBER}")

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {"late": "yes"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first "
            await asyncio.sleep(0.3)
            yield b"second"

        return StreamingResponse(chunks())

    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_app()) as test_client:
        yield test_client


def _is_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM_JSON  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert set(body) >= RFC_KEYS
    assert body["status"] == status
    assert body["detail"] == body["message"], "the older keys stay for current clients"
    return body


def test_a_rule_violation_is_a_problem_that_still_names_the_rule(client: TestClient) -> None:
    body = _is_problem(client.get("/rule"), 422)
    assert body["rule"] == "grid_needs_a_community"
    assert body["error"] == "rule_violation"
    assert body["type"] == "urn:civicgrid:problem:rule_violation"
    assert body["detail"] == "a grid belongs to one community"


def test_a_domain_error_keeps_its_status_and_details(client: TestClient) -> None:
    body = _is_problem(client.get("/missing"), 404)
    assert body["building_code"] == "B-1"
    assert body["title"] == "Not Found"


def test_invalid_input_lists_the_problem_fields(client: TestClient) -> None:
    body = _is_problem(client.post("/things", json={"nom": "x"}), 422)
    assert body["problems"] == [{"field": "body.name", "message": "Field required"}]
    assert body["error"] == "invalid_input"


def test_an_unknown_route_and_a_wrong_method_answer_problems(client: TestClient) -> None:
    assert _is_problem(client.get("/nowhere"), 404)["error"] == "not_found"
    assert _is_problem(client.put("/things"), 405)["error"] == "method_not_allowed"


def test_a_missing_token_is_a_401_problem_that_keeps_its_challenge() -> None:
    app = create_service_app("t", "t", HealthChecks())
    auth = Authenticator(verifier=None)  # type: ignore[arg-type]

    @app.get("/private")
    async def private(principal: object = Depends(auth.principal)) -> None:
        return None

    response = TestClient(app).get("/private")
    body = _is_problem(response, 401)
    assert body["detail"] == "a bearer token is required"
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_unavailable_store_answers_503_with_retry_after(client: TestClient) -> None:
    response = client.get("/mongo-down")
    body = _is_problem(response, 503)
    assert response.headers["retry-after"] == "2"
    assert body["error"] == "service_unavailable"
    assert "27017" not in json.dumps(body), "no internal addresses in the answer"


def test_store_unavailable_sets_its_own_retry_after(client: TestClient) -> None:
    response = client.get("/migrating")
    _is_problem(response, 503)
    assert response.headers["retry-after"] == "30"


def test_an_error_raised_from_a_refused_connection_is_a_503(client: TestClient) -> None:
    _is_problem(client.get("/wrapped"), 503)


def test_an_unexpected_error_is_a_500_problem_and_its_traceback_is_logged_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("tests", "INFO", json_output=True)
    with TestClient(_app()) as client:
        response = client.get("/bug", headers={"X-Correlation-ID": "corr-500"})
    body = _is_problem(response, 500)
    assert "corr-500" in str(body["detail"])
    assert PHONE not in json.dumps(body)
    assert ID_NUMBER not in json.dumps(body)
    out = capsys.readouterr().out
    assert "Traceback" in out
    assert "ValueError" in out
    assert "138****5678" in out
    assert PHONE not in out
    assert ID_NUMBER not in out


def test_a_body_declared_too_large_is_refused_with_413_before_it_is_read() -> None:
    with TestClient(_app(max_body_bytes=2048)) as client:
        response = client.post("/things", content=b"x" * 4096, headers={"content-type": "application/json"})
    body = _is_problem(response, 413)
    assert body["error"] == "payload_too_large"


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b'{"name": "' + b"y" * 1000 + b'"}'

    with TestClient(_app(max_body_bytes=2048)) as client:
        response = client.post("/things", content=chunks(), headers={"content-type": "application/json"})
        unlimited = TestClient(_app(max_body_bytes=100_000)).post(
            "/things", content=chunks(), headers={"content-type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    _is_problem(response, 413)
    assert unlimited.status_code == 422, "the same body under a higher limit is read (and is not JSON)"


def test_a_body_under_the_limit_is_accepted() -> None:
    with TestClient(_app(max_body_bytes=2048)) as client:
        assert client.post("/things", json={"name": "北苑社区"}).json() == {"name": "北苑社区"}


def test_a_request_past_its_deadline_answers_503_but_a_started_stream_runs_on() -> None:
    with TestClient(_app(request_deadline_seconds=0.1)) as client:
        _is_problem(client.get("/slow"), 503)
        stream = client.get("/stream")
    assert stream.status_code == 200
    assert stream.text == "first second"


def test_readiness_names_a_stalled_consumer_group_and_recovers() -> None:
    settings = ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1")
    broker = create_broker(settings)
    health = HealthChecks()
    ServiceLifecycle(settings=settings, broker=broker).add_readiness(health)
    client = TestClient(create_service_app("t", "t", health))
    assert client.get("/readyz").status_code == 200
    token = consumer_stalls(broker).stalled(
        Stall("resources.hotline", "municipal.hotline12345.requests.v1", 3, 41, "ServerSelectionTimeoutError")
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["consumers"]
    assert "consumer group resources.hotline stalled since" in check
    assert "ServerSelectionTimeoutError" in check
    consumer_stalls(broker).cleared(token)
    assert client.get("/readyz").status_code == 200


def test_an_error_detail_named_like_an_rfc_member_does_not_turn_the_answer_into_a_500() -> None:
    app = _app()

    @app.get("/clash")
    async def clash() -> None:
        raise NotFound("no such place", code="420106002003", status="dissolved", detail="x")

    response = TestClient(app).get("/clash")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    assert body["detail"] == "no such place"
    assert body["type"].endswith("not_found")


def test_the_openapi_document_declares_the_problem_answers_of_every_route_and_keeps_a_routes_own() -> None:
    app = create_service_app("t", "t", HealthChecks())

    @app.get("/things/{thing_id}")
    async def read(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.post("/things", responses={409: {"description": "that name is taken"}})
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    paths = app.openapi()["paths"]
    read_answers = paths["/things/{thing_id}"]["get"]["responses"]
    write_answers = paths["/things"]["post"]["responses"]
    assert {"401", "403", "404", "422", "503"} <= set(read_answers)
    assert "409" not in read_answers
    assert {"409", "413", "503"} <= set(write_answers)
    assert write_answers["409"]["description"] == "that name is taken"
    problem = read_answers["404"]["content"][PROBLEM_JSON]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
