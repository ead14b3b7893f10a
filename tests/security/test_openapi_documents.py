"""The OpenAPI documents say what every answer contains (issue 9, item 3): the fuzzer's response-schema
check means nothing against a schema that admits any object."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.matrix import MATRIX
from tests.security.openapi import Document, Schema
from tests.security.world import Actor, Api


def says_something(doc: Document, schema: Schema, depth: int = 0) -> bool:
    """A schema that names what the answer holds: properties, items that do, or a reference to one."""
    schema = doc.resolve(schema)
    if depth > 4:
        return True
    alternatives = schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", [])
    if alternatives:
        return all(
            says_something(doc, a, depth + 1) for a in alternatives if doc.resolve(a).get("type") != "null"
        )
    kind = schema.get("type")
    if kind == "array":
        return says_something(doc, schema.get("items", {}), depth + 1)
    if kind == "object":
        extra = schema.get("additionalProperties")
        return bool(schema.get("properties")) or (
            isinstance(extra, dict) and says_something(doc, extra, depth + 1)
        )
    return kind in ("string", "integer", "number", "boolean")


def vague_answers(doc: Document) -> list[str]:
    found = []
    for route in sorted(doc.routes()):
        responses: dict[str, Any] = doc.operation(route).get("responses", {})
        for status, response in responses.items():
            if not status.startswith("2"):
                continue
            content = response.get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            if json_schema is not None and not says_something(doc, json_schema):
                found.append(f"{route} {status}")
    return found


@pytest.mark.parametrize("service", list(MATRIX))
async def test_every_success_answer_is_described_by_its_response_schema(api: Api, service: str) -> None:
    doc = Document((await api.call(service, "GET", "/openapi.json", None)).json())
    vague = vague_answers(doc)
    assert not vague, f"{service} routes whose 2xx answer is documented as any JSON: {vague}"


@pytest.mark.parametrize("service", list(MATRIX))
async def test_every_route_documents_its_refusals(api: Api, service: str) -> None:
    """A route behind a bearer token answers 401 and 403; the document should say so (and with what)."""
    doc = Document((await api.call(service, "GET", "/openapi.json", None)).json())
    public = {r for r, row in MATRIX[service].items() if row.expected()[Actor.ANONYMOUS] == "ok"}
    missing = [
        route
        for route in sorted(doc.routes() - public)
        if not {"401", "403"} <= set(doc.operation(route).get("responses", {}))
    ]
    assert not missing, f"{service} routes that do not document 401 and 403: {missing}"
