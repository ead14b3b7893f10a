"""JSON Schemas (draft 2020-12) generated from the models, and their deterministic rendering."""

from __future__ import annotations

import json
from typing import Any

from civicgrid_contracts.catalogue import EventSpec, all_specs
from civicgrid_contracts.envelope import CloudEvent, schema_urn
from civicgrid_contracts.values import PERSONAL_DATA_SCHEMA

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_SCHEMA_ID = "urn:civicgrid:schema:envelope"
ENVELOPE_FILE = "envelope.json"
PERSONAL_DATA_DEF = "NoClearPersonalData"
_ENVELOPE_REQUIRED = ["specversion", "id", "source", "type", "time", "partitionkey", "data"]


def personal_data_definition() -> dict[str, Any]:
    return {
        "description": "Must not contain a clear mobile phone number or an ID-card number.",
        **PERSONAL_DATA_SCHEMA,
    }


def factor_personal_data(node: Any, ref: str) -> Any:
    """Replace each inline personal-data guard (``not: ...``) with ``allOf: [{$ref: <shared definition>}]``.

    ``allOf`` rather than a sibling ``$ref``: draft-07 tools (AsyncAPI schemas) ignore ``$ref`` siblings.
    """
    if isinstance(node, list):
        return [factor_personal_data(item, ref) for item in node]
    if not isinstance(node, dict):
        return node
    guarded = node.get("not") == PERSONAL_DATA_SCHEMA["not"]
    out = {k: factor_personal_data(v, ref) for k, v in node.items() if not (guarded and k == "not")}
    if guarded:
        out["allOf"] = [*out.get("allOf", []), {"$ref": ref}]
    return out


def _refers_to(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_refers_to(value, ref) for value in node.values())
    if isinstance(node, list):
        return any(_refers_to(item, ref) for item in node)
    return False


def file_name(event_type: str) -> str:
    return f"{event_type}.json"


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema of one event type's ``data``, with ``$id`` = its ``dataschema`` URN."""
    schema: dict[str, Any] = spec.payload_model.model_json_schema(mode="validation")
    schema = factor_personal_data(schema, f"#/$defs/{PERSONAL_DATA_DEF}")
    if _refers_to(schema, f"#/$defs/{PERSONAL_DATA_DEF}"):
        schema.setdefault("$defs", {})[PERSONAL_DATA_DEF] = personal_data_definition()
    return {
        "$schema": DRAFT_2020_12,
        "$id": schema_urn(spec.type),
        **schema,
        "x-civicgrid-event-type": spec.type,
        "x-civicgrid-topic": spec.topic,
    }


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of a whole event in structured mode (``application/cloudevents+json``)."""
    schema: dict[str, Any] = CloudEvent.model_json_schema(mode="validation")
    schema["required"] = list(_ENVELOPE_REQUIRED)
    schema["description"] = (
        "A CivicGrid event as one JSON document: CloudEvents 1.0 structured mode "
        "(application/cloudevents+json). In binary mode the same attributes travel as ce_* headers."
    )
    return {"$schema": DRAFT_2020_12, "$id": ENVELOPE_SCHEMA_ID, **schema}


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, for every event type and the envelope."""
    schemas = {file_name(spec.type): event_schema(spec) for spec in all_specs()}
    schemas[ENVELOPE_FILE] = envelope_schema()
    return schemas


def render(document: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, UTF-8 text, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
