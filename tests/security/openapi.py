"""Reading the services' OpenAPI documents: routes, request bodies and the text fields inside them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class TextField:
    """A string somewhere in a JSON body: ``path`` of keys (ints index into lists)."""

    path: tuple[str | int, ...]
    schema: Schema

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path)

    @property
    def leaf(self) -> str:
        return next(str(p) for p in reversed(self.path) if isinstance(p, str))

    def accepts(self, value: str) -> bool:
        """Whether ``value`` fits the field's declared pattern and length (so only content is judged)."""
        pattern = self.schema.get("pattern")
        if pattern and re.search(pattern, value) is None:
            return False
        return len(value) <= int(self.schema.get("maxLength", 10**6))


class Document:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def routes(self) -> set[str]:
        return {f"{m.upper()} {path}" for path, ops in self.raw["paths"].items() for m in ops if m in METHODS}

    def operation(self, route: str) -> dict[str, Any]:
        method, path = route.split(" ", 1)
        operation: dict[str, Any] = self.raw["paths"][path][method.lower()]
        return operation

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.raw["components"]["schemas"][name]
        return schema

    def body_schema(self, route: str) -> Schema | None:
        content = self.operation(route).get("requestBody", {}).get("content", {})
        json_body = content.get("application/json")
        return self.resolve(json_body["schema"]) if json_body else None

    def query_parameters(self, route: str) -> list[tuple[str, Schema]]:
        return [
            (p["name"], self.resolve(p.get("schema", {})))
            for p in self.operation(route).get("parameters", [])
            if p.get("in") == "query"
        ]

    def text_fields(
        self, schema: Schema, prefix: tuple[str | int, ...] = (), depth: int = 0
    ) -> Iterator[TextField]:
        """Every string leaf of a body schema that is not an enum, a date or a time."""
        schema = self.resolve(schema)
        if depth > 6:
            return
        for alternative in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            resolved = self.resolve(alternative)
            if resolved.get("type") != "null":
                yield from self.text_fields(resolved, prefix, depth + 1)
        kind = schema.get("type")
        if kind == "string":
            if (
                "enum" in schema
                or "const" in schema
                or schema.get("format") in ("date", "date-time", "time", "binary")
            ):
                return
            yield TextField(prefix, schema)
        elif kind == "object":
            for name, sub in schema.get("properties", {}).items():
                yield from self.text_fields(sub, (*prefix, name), depth + 1)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                yield from self.text_fields(extra, (*prefix, "note"), depth + 1)
        elif kind == "array":
            yield from self.text_fields(schema.get("items", {}), (*prefix, 0), depth + 1)


def put(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``path`` (creating dicts and one-element lists on the way)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(body) if isinstance(body, list) else []
        if not items:
            items.append({} if rest and isinstance(rest[0], str) else None)
        items[0] = put(items[0], rest, value)
        return items
    copy = dict(body) if isinstance(body, dict) else {}
    copy[head] = put(copy.get(head), rest, value)
    return copy
