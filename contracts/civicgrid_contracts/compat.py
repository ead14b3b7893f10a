"""Backward compatibility between an old and a new JSON Schema of the same event type.

Within a version, changes must be additive: a consumer built against the old schema must keep reading
what producers send under the new one, and the new schema must accept every event the old one did.
So a removed (or renamed) field, a narrowed type, a lost enum value, a new or stricter constraint
(maxLength, pattern, minimum...), a new required field and a field that became required are all
incompatible. New optional fields and widened types are compatible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Schema = Mapping[str, Any]

_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_EXACT = ("pattern", "format", "multipleOf", "not", "propertyNames")


class Kind(StrEnum):
    REMOVED_FIELD = "removed_field"
    NARROWED_TYPE = "narrowed_type"
    NARROWED_ENUM = "narrowed_enum"
    NARROWED_CONSTRAINT = "narrowed_constraint"
    NEW_REQUIRED_FIELD = "new_required_field"
    BECAME_REQUIRED = "became_required"
    REMOVED_EVENT_TYPE = "removed_event_type"


@dataclass(frozen=True)
class Incompatibility:
    path: str
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


def compare(old: Schema, new: Schema) -> list[Incompatibility]:
    """Every incompatibility of ``new`` against ``old``; empty if ``new`` evolves ``old`` compatibly."""
    return _Comparison(old, new).schema(old, new, "$")


def _json_type(schema: Schema) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    values = _values(schema)
    if values:
        kinds = {_type_of_value(v) for v in values}
        return kinds.pop() if len(kinds) == 1 else None
    return "object" if "properties" in schema else None


def _type_of_value(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return names.get(type(value), "object" if isinstance(value, dict) else "array")


def _values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _accepts(new_type: str | None, old_type: str | None) -> bool:
    return new_type is None or new_type == old_type or (new_type == "number" and old_type == "integer")


def _describe(types: list[str | None]) -> str:
    return " | ".join(sorted({t or "any" for t in types}))


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._roots = (old_root, new_root)
        self._active: set[tuple[str, str]] = set()  # $ref pairs being compared: stops recursive schemas

    def _resolve(self, schema: Schema, root: Schema) -> tuple[str, dict[str, Any]]:
        """The schema with its local ``$ref`` chain and ``allOf`` merged in, and the first ref followed."""
        resolved = dict(schema)
        name = ""
        for _ in range(32):  # a chain of $refs, not a loop
            ref = resolved.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break  # no reference, or an external one: compared as it is
            name = name or ref
            del resolved["$ref"]
            target: Any = root
            for part in ref.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            resolved = {**target, **resolved}
        for part in resolved.pop("allOf", []):
            resolved = {**self._resolve(part, root)[1], **resolved}
        return name, resolved

    def _alternatives(self, schema: Schema, root: Schema) -> list[tuple[str, dict[str, Any]]]:
        """What a schema accepts, as a list of single-type alternatives (from anyOf, oneOf, type lists)."""
        name, resolved = self._resolve(schema, root)
        for keyword in ("anyOf", "oneOf"):
            if keyword in resolved:
                shared = {k: v for k, v in resolved.items() if k != keyword}
                return [
                    alt for sub in resolved[keyword] for alt in self._alternatives({**shared, **sub}, root)
                ]
        declared = resolved.get("type")
        if isinstance(declared, list):
            return [(name, {**resolved, "type": t}) for t in declared]
        return [(name, resolved)]

    def schema(self, old: Schema, new: Schema, path: str) -> list[Incompatibility]:
        old_alts = self._alternatives(old, self._roots[0])
        new_alts = self._alternatives(new, self._roots[1])
        found: list[Incompatibility] = []
        for old_name, old_alt in old_alts:
            old_type = _json_type(old_alt)
            candidates = [(name, alt) for name, alt in new_alts if _accepts(_json_type(alt), old_type)]
            if not candidates:
                was = _describe([_json_type(alt) for _, alt in old_alts])
                now = _describe([_json_type(alt) for _, alt in new_alts])
                detail = f"no longer accepts {old_type or 'any'} ({was} → {now})"
                found.append(Incompatibility(path, Kind.NARROWED_TYPE, detail))
                continue
            outcomes = [self._guarded((old_name, name), old_alt, alt, path) for name, alt in candidates]
            best: list[Incompatibility] = min(outcomes, key=len)
            found.extend(best)
        return found

    def _guarded(
        self, refs: tuple[str, str], old: dict[str, Any], new: dict[str, Any], path: str
    ) -> list[Incompatibility]:
        """Compare two alternatives, unless this pair of definitions is already being compared further up
        (a recursive schema)."""
        if not all(refs):
            return self._single(old, new, path)
        if refs in self._active:
            return []
        self._active.add(refs)
        try:
            return self._single(old, new, path)
        finally:
            self._active.discard(refs)

    def _single(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[Incompatibility]:
        found = self._enum(old, new, path) + self._constraints(old, new, path)
        if _json_type(old) == "object" or "properties" in old:
            found += self._object(old, new, path)
        if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
            found += self.schema(old["items"], new["items"], f"{path}[]")
        return found

    @staticmethod
    def _enum(old: dict[str, Any], new: dict[str, Any], path: str) -> list[Incompatibility]:
        old_values, new_values = _values(old), _values(new)
        if new_values is None:
            return []
        if old_values is None:
            return [Incompatibility(path, Kind.NARROWED_ENUM, f"now restricted to {new_values!r}")]
        lost = [value for value in old_values if value not in new_values]
        if not lost:
            return []
        return [Incompatibility(path, Kind.NARROWED_ENUM, f"lost enum value(s) {lost!r}")]

    def _constraints(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[Incompatibility]:
        found: list[Incompatibility] = []

        def narrowed(keyword: str) -> None:
            was = old.get(keyword, "none")
            found.append(
                Incompatibility(path, Kind.NARROWED_CONSTRAINT, f"{keyword}: {was!r} → {new[keyword]!r}")
            )

        for keyword in _UPPER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                narrowed(keyword)
        for keyword in _LOWER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
                narrowed(keyword)
        for keyword in _EXACT:
            if keyword in new and new[keyword] != old.get(keyword):
                narrowed(keyword)
        if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
            narrowed("uniqueItems")
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            narrowed("additionalProperties")
        elif isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            found += self.schema(old_extra, new_extra, f"{path}{{}}")
        old_patterns: Mapping[str, Any] = old.get("patternProperties", {})
        for pattern, value_schema in new.get("patternProperties", {}).items():
            if pattern in old_patterns:
                found += self.schema(old_patterns[pattern], value_schema, f"{path}{{{pattern}}}")
            else:
                found.append(
                    Incompatibility(path, Kind.NARROWED_CONSTRAINT, f"new patternProperties {pattern!r}")
                )
        return found

    def _object(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[Incompatibility]:
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        added = [name for name in new_props if name not in old_props]
        found: list[Incompatibility] = []
        for name in old_props:
            where = f"{path}.{name}"
            if name not in new_props:
                hint = f" (renamed to one of {added!r}?)" if added else ""
                found.append(Incompatibility(where, Kind.REMOVED_FIELD, f"field {name!r} was removed{hint}"))
                continue
            if name in new_required and name not in old_required:
                found.append(
                    Incompatibility(where, Kind.BECAME_REQUIRED, f"optional field {name!r} became required")
                )
            found += self.schema(old_props[name], new_props[name], where)
        for name in added:
            if name in new_required:
                found.append(
                    Incompatibility(f"{path}.{name}", Kind.NEW_REQUIRED_FIELD, f"new required field {name!r}")
                )
        return found
