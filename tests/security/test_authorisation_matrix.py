"""Every route of every service × seven callers, against the one table in ``matrix.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.calls import CALLS, Call
from tests.security.matrix import MATRIX, Row, rows
from tests.security.world import ACTORS, Actor, Api, World

METHODS = ("get", "post", "put", "patch", "delete")


_served: dict[tuple[int, str], set[str]] = {}


async def served_routes(api: Api, service: str) -> set[str]:
    if (id(api), service) in _served:
        return _served[(id(api), service)]
    response = await api.call(service, "GET", "/openapi.json", None)
    assert response.status_code == 200, f"{service} serves no OpenAPI document: {response.status_code}"
    document: dict[str, Any] = response.json()
    found = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }
    _served[(id(api), service)] = found
    return found


def matches(expected: str, status: int) -> bool:
    if expected == "ok":
        return 200 <= status < 300
    if expected == "hid":
        return status in (403, 404)
    return status == int(expected)


@pytest.mark.parametrize("service", list(MATRIX))
async def test_every_route_a_service_serves_has_a_declared_expectation(api: Api, service: str) -> None:
    undeclared = sorted(await served_routes(api, service) - set(MATRIX[service]))
    assert not undeclared, (
        f"{service} serves routes with no row in tests/security/matrix.py (declare who may call them): "
        f"{undeclared}"
    )


def test_every_declared_route_has_a_call_that_exercises_it() -> None:
    missing = [f"{s} {r}" for s, r, _ in rows() if r not in CALLS[s]]
    extra = [f"{s} {r}" for s in CALLS for r in CALLS[s] if r not in MATRIX[s]]
    assert not missing, f"rows without a call: {missing}"
    assert not extra, f"calls without a row: {extra}"


def describe(actor: Actor, expected: str, status: int, body: str) -> str:
    return f"  {actor.value}: expected {expected}, got {status} {body[:160]!r}"


@pytest.mark.parametrize(("service", "route", "row"), rows(), ids=[f"{s} {r}" for s, r, _ in rows()])
async def test_each_route_answers_each_caller_as_the_matrix_declares(
    api: Api, world: World, service: str, route: str, row: Row
) -> None:
    if route not in await served_routes(api, service):
        pytest.fail(
            f"{service} does not serve {route}, which the matrix declares ({row.note})", pytrace=False
        )
    method = route.split()[0]
    builder = CALLS[service][route]
    wrong: list[str] = []
    shared: Call | None = None
    for actor in ACTORS:
        expected = row.expected()[actor]
        # an allowed caller gets an object of its own; refused callers share one (it stays unchanged
        # unless a refusal fails, which is then reported anyway)
        if expected == "ok":
            made = await builder(world, actor, row.concerned)
        else:
            shared = shared or await builder(world, actor, row.concerned)
            made = shared
        token = world.token_of(actor, row.concerned)
        response = await api.call(
            service, method, made.path, token, json=made.json, params=made.params or None, files=made.files
        )
        body = response.text if response.status_code >= 300 else ""
        if not matches(expected, response.status_code):
            wrong.append(describe(actor, expected, response.status_code, body))
    assert not wrong, f"{service} {route} ({row.note or 'see matrix.py'}):\n" + "\n".join(wrong)
