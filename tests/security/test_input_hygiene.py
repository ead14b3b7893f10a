"""Input hygiene: control characters refused at input, exports that never fail, bounded numbers, and
large bodies refused before they are read.

Text fields and numeric parameters come from the OpenAPI documents, so new ones are covered at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.security.calls import CALLS
from tests.security.matrix import MATRIX
from tests.security.openapi import Document, Schema, put
from tests.security.world import Actor, Api, World

CONTROL_TEXTS = ("a\u0000b", "a\u0007b", "a\u001bb", "a\u202eb")
"""NUL, BEL, ESC and a right-to-left override: never a legitimate part of a name, note or title."""
HUGE_INTEGERS = (9223372036854775807, -9223372036854775809, 10**30)
MEGABYTE = 1024 * 1024


@dataclass
class Result:
    where: str
    sent: str
    status: int
    answer: str

    def line(self) -> str:
        return f"  {self.where} ← {self.sent}: {self.status} {self.answer[:140]!r}"


async def documents(api: Api) -> dict[str, Document]:
    return {s: Document((await api.call(s, "GET", "/openapi.json", None)).json()) for s in MATRIX}


def allowed_actor(service: str, route: str) -> Actor | None:
    expected = MATRIX[service][route].expected()
    candidates = (Actor.ADMIN, Actor.COORDINATOR_HERE, Actor.MEMBER_CONCERNED)
    return next((a for a in candidates if expected[a] == "ok"), None)


def body_routes(doc: Document, service: str) -> list[str]:
    return sorted(r for r in doc.routes() & set(MATRIX[service]) if doc.body_schema(r) is not None)


@pytest.fixture(scope="module")
async def docs(api: Api) -> dict[str, Document]:
    return await documents(api)


async def test_control_characters_in_any_text_field_are_refused_naming_the_field(
    api: Api, world: World, docs: dict[str, Document]
) -> None:
    wrong: list[Result] = []
    fed = 0
    for service, doc in docs.items():
        for route in body_routes(doc, service):
            actor = allowed_actor(service, route)
            schema = doc.body_schema(route)
            if actor is None or schema is None:
                continue
            row = MATRIX[service][route]
            base = await CALLS[service][route](world, actor, row.concerned)
            token = world.token_of(actor, row.concerned)
            for text_field in doc.text_fields(schema):
                value = next((v for v in CONTROL_TEXTS if text_field.accepts(v)), None)
                if value is None:
                    continue
                fed += 1
                method = route.split()[0]
                body = put(base.json or {}, text_field.path, value)
                response = await api.call(
                    service, method, base.path, token, json=body, params=base.params or None
                )
                if response.status_code != 422 or text_field.leaf not in response.text:
                    wrong.append(
                        Result(
                            f"{service} {route} {text_field.name}",
                            repr(value),
                            response.status_code,
                            response.text,
                        )
                    )
                if response.status_code < 300:
                    base = await CALLS[service][route](world, actor, row.concerned)
    assert fed > 0
    assert not wrong, f"{len(wrong)} of {fed} text fields accept control characters:\n" + "\n".join(
        r.line() for r in wrong
    )


async def test_a_place_named_with_a_nul_is_refused_and_exports_above_it_still_answer(
    api: Api, world: World
) -> None:
    code = f"{world.community_a}-CNUL"
    response = await api.call(
        "org-graph",
        "POST",
        "/places",
        world.admin,
        json={"kind": "compound", "code": code, "name": "a\u0000b", "parent_code": world.community_a},
    )
    assert response.status_code == 422, (
        f"a compound named 'a\\x00b': {response.status_code} {response.text[:200]}"
    )
    renamed = await api.call(
        "org-graph", "PATCH", f"/places/{world.compound_a}", world.admin, json={"name": "甲\u0000乙"}
    )
    assert renamed.status_code == 422, f"a rename to 'a\\x00b': {renamed.status_code}"
    failures = []
    for region in (
        world.community_a,
        world.region.street_a,
        world.region.district,
        world.region.district[:4],
    ):
        for what in ("roster", "posts"):
            for fmt in ("csv", "xlsx"):
                answer = await api.call(
                    "org-graph",
                    "GET",
                    f"/exports/{what}",
                    world.admin,
                    params={"region": region, "format": fmt},
                )
                if answer.status_code != 200:
                    failures.append(f"{what} {fmt} of {region}: {answer.status_code}")
    assert not failures, "exports that did not answer 200: " + "; ".join(failures)


def integer_parameters(doc: Document, route: str) -> list[tuple[str, Schema]]:
    return [(n, s) for n, s in doc.query_parameters(route) if s.get("type") == "integer"]


async def test_every_integer_query_parameter_declares_its_bounds(docs: dict[str, Document]) -> None:
    unbounded = [
        f"{service} {route} ?{name}"
        for service, doc in docs.items()
        for route in sorted(doc.routes())
        for name, schema in integer_parameters(doc, route)
        if "maximum" not in schema or "minimum" not in schema
    ]
    assert not unbounded, f"integer parameters without minimum and maximum: {unbounded}"


async def test_numbers_past_their_limits_are_refused_with_422(
    api: Api, world: World, docs: dict[str, Document]
) -> None:
    wrong: list[Result] = []
    fed = 0
    for service, doc in docs.items():
        for route in sorted(doc.routes() & set(MATRIX[service])):
            actor = allowed_actor(service, route)
            if actor is None or route in ("GET /members/{member_id}/stream",):
                continue
            row = MATRIX[service][route]
            params = integer_parameters(doc, route)
            schema = doc.body_schema(route)
            numbers = integer_body_fields(doc, schema) if schema else []
            if not params and not numbers:
                continue
            base = await CALLS[service][route](world, actor, row.concerned)
            token = world.token_of(actor, row.concerned)
            method = route.split()[0]
            for name, _ in params:
                for value in HUGE_INTEGERS:
                    fed += 1
                    query = {**base.params, name: str(value)}
                    response = await api.call(service, method, base.path, token, json=base.json, params=query)
                    if response.status_code != 422:
                        wrong.append(
                            Result(
                                f"{service} {route} ?{name}", str(value), response.status_code, response.text
                            )
                        )
            for path in numbers:
                for value in HUGE_INTEGERS:
                    fed += 1
                    body = put(base.json or {}, path, value)
                    response = await api.call(
                        service, method, base.path, token, json=body, params=base.params or None
                    )
                    where = f"{service} {route} {'.'.join(map(str, path))}"
                    if response.status_code != 422:
                        wrong.append(Result(where, str(value), response.status_code, response.text))
                    if response.status_code < 300:
                        base = await CALLS[service][route](world, actor, row.concerned)
    assert fed > 0
    assert not wrong, f"{len(wrong)} of {fed} numbers past any sane limit were not refused:\n" + "\n".join(
        r.line() for r in wrong
    )


def integer_body_fields(
    doc: Document, schema: Schema | None, prefix: tuple[str | int, ...] = ()
) -> list[tuple[str | int, ...]]:
    if schema is None:
        return []
    schema = doc.resolve(schema)
    found: list[tuple[str | int, ...]] = []
    for alternative in schema.get("anyOf", []):
        found += integer_body_fields(doc, alternative, prefix)
    if schema.get("type") in ("integer", "number"):
        found.append(prefix)
    elif schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            found += integer_body_fields(doc, sub, (*prefix, name))
    elif schema.get("type") == "array" and len(prefix) < 4:
        found += integer_body_fields(doc, schema.get("items", {}), (*prefix, 0))
    return found


async def test_the_offset_of_coverage_gaps_is_bounded(api: Api, world: World) -> None:
    response = await api.call(
        "org-graph",
        "GET",
        f"/regions/{world.region.street_a}/coverage/gaps/buildings_without_grid",
        world.admin,
        params={"offset": "9223372036854775807"},
    )
    assert response.status_code == 422, f"offset=2**63-1: {response.status_code} {response.text[:200]}"


async def status_before_the_body(url: str, method: str, path: str, token: str, length: int, kind: str) -> int:
    """Send only the request head announcing a ``length``-byte body and read the answer: a server that
    refuses large bodies early answers without waiting for them."""
    parsed = urlsplit(url)
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    try:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {kind}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_json_bodies_larger_than_the_limit_are_refused_before_being_read(
    api: Api, world: World, docs: dict[str, Document]
) -> None:
    wrong = []
    tried = 0
    for service, doc in docs.items():
        for route in body_routes(doc, service):
            method, path = route.split(" ", 1)
            concrete = path.replace("{", "").replace("}", "")
            tried += 1
            status = await status_before_the_body(
                api.urls[service], method, concrete, world.admin, 3 * MEGABYTE, "application/json"
            )
            if status != 413:
                wrong.append(f"  {service} {route}: {status}")
    assert tried > 0
    assert not wrong, "3 MB JSON bodies not refused with 413 before being sent:\n" + "\n".join(wrong)


async def test_an_upload_larger_than_the_limit_is_refused_with_413(api: Api, world: World) -> None:
    for what in ("roster", "posts"):
        status = await status_before_the_body(
            api.urls["org-graph"],
            "POST",
            f"/imports/{what}",
            world.admin,
            30 * MEGABYTE,
            "multipart/form-data; boundary=x",
        )
        assert status == 413, f"a 30 MB {what} upload announced: {status}"
