"""An AsyncAPI 3.0 document for every topic, built from the catalogue as plain data."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from civicgrid_contracts.catalogue import EventSpec, Topic, all_specs, all_topics
from civicgrid_contracts.envelope import CONTENT_TYPE_HEADER, JSON_CONTENT_TYPE, schema_urn
from civicgrid_contracts.examples import example_payloads
from civicgrid_contracts.schemas import PERSONAL_DATA_DEF, factor_personal_data, personal_data_definition
from civicgrid_contracts.values import COMMUNITY_CODE_PATTERN
from civicgrid_contracts.version import __version__

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMAS = "#/components/schemas/"
HEADERS_SCHEMA = "CloudEventKafkaHeaders"
DEAD_LETTER_HEADERS_SCHEMA = "DeadLetterHeaders"
DEAD_LETTER_MESSAGE = "DeadLetter"
PARTITION_KEY_SCHEMA = "PartitionKey"

# Written by the shared runtime when it dead-letters a record (next to the original headers).
DEAD_LETTER_HEADERS: dict[str, str] = {
    "x-dlq-reason": "Why the record failed (personal data redacted).",
    "x-dlq-exception": "The exception class name.",
    "x-dlq-original-topic": "The topic the record came from.",
    "x-dlq-original-partition": "Its partition there.",
    "x-dlq-original-offset": "Its offset there.",
    "x-dlq-attempts": "How many times handling was attempted.",
    "x-dlq-failed-at": "When it was dead-lettered (RFC 3339).",
}

_CE_HEADERS: dict[str, tuple[dict[str, Any], bool]] = {
    "ce_id": ({"type": "string", "description": "Event id, unique per source (a UUID)."}, True),
    "ce_source": ({"type": "string", "description": "The producer, e.g. /civicgrid/org-graph."}, True),
    "ce_type": ({"type": "string", "description": "The event type."}, True),
    "ce_specversion": ({"const": "1.0"}, True),
    "ce_time": ({"type": "string", "format": "date-time", "description": "When it happened (UTC)."}, True),
    "ce_subject": ({"type": "string", "description": "What the event is about, within the source."}, False),
    "ce_dataschema": ({"type": "string", "description": "urn:civicgrid:schema:<type>."}, True),
    "ce_partitionkey": ({"$ref": SCHEMAS + PARTITION_KEY_SCHEMA}, True),
    "ce_correlationid": ({"type": "string", "description": "Shared by a whole conversation."}, False),
    "ce_causationid": (
        {"type": "string", "description": "The event or request that caused this one."},
        False,
    ),
    "ce_traceparent": (
        {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C traceparent of the operation that created the event (CloudEvents "
            "distributed-tracing extension); present when the producer traces.",
        },
        False,
    ),
    "ce_tracestate": ({"type": "string", "description": "W3C tracestate, with ce_traceparent."}, False),
    CONTENT_TYPE_HEADER: ({"const": JSON_CONTENT_TYPE}, True),
}


def _partition_key() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": COMMUNITY_CODE_PATTERN,
        "description": "The community (or village) code, UTF-8: everything about one community is ordered.",
    }


def _shared_schemas() -> dict[str, Any]:
    ce_headers = {name: schema for name, (schema, _) in _CE_HEADERS.items()}
    return {
        PARTITION_KEY_SCHEMA: _partition_key(),
        HEADERS_SCHEMA: {
            "type": "object",
            "description": "CloudEvents 1.0 Kafka protocol binding, binary content mode.",
            "properties": ce_headers,
            "required": [name for name, (_, required) in _CE_HEADERS.items() if required],
        },
        DEAD_LETTER_HEADERS_SCHEMA: {
            "type": "object",
            "description": "The original record's headers (ce_* if it had them) plus the x-dlq-* headers.",
            "properties": {
                **{
                    name: {"type": "string", "description": text}
                    for name, text in DEAD_LETTER_HEADERS.items()
                },
                **ce_headers,
            },
            "required": list(DEAD_LETTER_HEADERS),
        },
    }


def _message(spec: EventSpec, payload_ref: dict[str, Any], example: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": spec.type,
        "title": spec.payload_model.__name__,
        "summary": spec.description,
        "contentType": JSON_CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": SCHEMAS + HEADERS_SCHEMA},
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"const": spec.type},
                        "ce_dataschema": {"const": schema_urn(spec.type)},
                    },
                },
            ]
        },
        "payload": payload_ref,
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        # Inline, not a $ref: the AsyncAPI 3.0 meta-schema finds a bare $ref here ambiguous.
        "bindings": {"kafka": {"key": _partition_key(), "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    if example is not None:
        message["examples"] = [{"name": "example", "payload": example}]
    return message


def _channel(topic: Topic, message_ids: list[str]) -> dict[str, Any]:
    return {
        "address": topic.name,
        "description": f"{topic.description} Owner: {topic.owner}. Key: {topic.key}.",
        "messages": {
            message_id: {"$ref": f"#/components/messages/{message_id}"} for message_id in message_ids
        },
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def asyncapi_document() -> dict[str, Any]:
    """The whole document: a channel per topic (dead-letter topics included), a message per event type."""
    specs = all_specs()
    examples = {event_type: p.model_dump(mode="json") for event_type, p in example_payloads().items()}
    refs, definitions = models_json_schema(
        [(spec.payload_model, "validation") for spec in specs], ref_template=SCHEMAS + "{model}"
    )
    schemas = factor_personal_data(
        {**definitions.get("$defs", {}), **_shared_schemas()}, SCHEMAS + PERSONAL_DATA_DEF
    )
    schemas[PERSONAL_DATA_DEF] = personal_data_definition()
    messages = {
        spec.type: _message(spec, refs[(spec.payload_model, "validation")], examples.get(spec.type))
        for spec in specs
    }
    messages[DEAD_LETTER_MESSAGE] = {
        "name": DEAD_LETTER_MESSAGE,
        "summary": "A record that failed validation or handling, unchanged, with the reason in headers.",
        "headers": {"$ref": SCHEMAS + DEAD_LETTER_HEADERS_SCHEMA},
        "payload": {"description": "The original record value, byte for byte."},
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in all_topics():
        if topic.dead_letter_of is not None:
            channels[topic.name] = _channel(topic, [DEAD_LETTER_MESSAGE])
            continue
        message_ids = [spec.type for spec in specs if spec.topic == topic.name]
        channels[topic.name] = _channel(topic, message_ids)
        inbound = topic.owner == "municipal"
        operations[f"{'receive' if inbound else 'send'}.{topic.name}"] = {
            "action": "receive" if inbound else "send",
            "summary": "CivicGrid receives from the municipal systems."
            if inbound
            else f"{topic.owner} publishes.",
            "channel": {"$ref": f"#/channels/{topic.name}"},
            "messages": [{"$ref": f"#/channels/{topic.name}/messages/{m}"} for m in message_ids],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "CivicGrid events",
            "version": __version__,
            "description": "Kafka topics of CivicGrid. CloudEvents 1.0, Kafka binding in binary mode "
            "(ce_* headers, JSON value); the record key is the community code. Generated from "
            "civicgrid_contracts: do not edit by hand.",
        },
        "defaultContentType": JSON_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
