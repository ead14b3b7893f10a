"""The CloudEvents 1.0 envelope and its Kafka protocol binding (binary mode out; binary or structured in)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import from_json

from civicgrid_contracts.errors import InvalidEvent, UnknownEventType, summarise

__all__ = [
    "CONTENT_TYPE_HEADER",
    "KAFKA_HEADERS",
    "CloudEvent",
    "InvalidEvent",
    "KafkaRecord",
    "UnknownEventType",
    "schema_urn",
]

SPEC_VERSION: Final = "1.0"
JSON_CONTENT_TYPE: Final = "application/json"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_URN_PREFIX = "urn:civicgrid:schema:"
CONTENT_TYPE_HEADER = "content-type"

# Attributes carried as ``ce_<name>`` headers in binary mode, in the order they are written.
_HEADER_ATTRIBUTES = (
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "subject",
    "dataschema",
    "partitionkey",
    "correlationid",
    "causationid",
    "traceparent",
    "tracestate",
)
_REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "time")
KAFKA_HEADERS: tuple[str, ...] = (*(f"ce_{name}" for name in _HEADER_ATTRIBUTES), CONTENT_TYPE_HEADER)
"""Every header this binding writes (optional ``ce_`` headers are left out when the attribute is null)."""


TraceSource = Callable[[], "tuple[str, str | None] | None"]
_trace_source: TraceSource | None = None


def set_trace_source(source: TraceSource | None) -> None:
    """Where a new event takes its ``traceparent``/``tracestate`` (the CloudEvents distributed-tracing
    extension) from: a callable giving the current trace context as W3C texts, or None. Set by the
    runtime when tracing is on (``civicgrid_runtime.tracing``); while None, events carry neither."""
    global _trace_source
    _trace_source = source


def _current_traceparent() -> str | None:
    if _trace_source is None:
        return None
    found = _trace_source()
    return found[0] if found else None


def _current_tracestate() -> str | None:
    if _trace_source is None:
        return None
    found = _trace_source()
    return found[1] if found else None


def schema_urn(event_type: str) -> str:
    """The ``dataschema`` of an event type: ``urn:civicgrid:schema:<type>``, also its JSON Schema ``$id``."""
    return SCHEMA_URN_PREFIX + event_type


def _format_time(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _new_id() -> str:
    """A random (version 4) UUID as text, like ``str(uuid4())`` at a third of its cost."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# One encoder and one decoder for every event (json.dumps/json.loads with options build a new one
# per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _dataschema_default(data: dict[str, Any]) -> str:
    return schema_urn(str(data.get("type", "")))


@dataclass(frozen=True)
class KafkaRecord:
    """What to hand to a Kafka producer: key, value and headers (binary content mode)."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event with the CivicGrid extensions ``partitionkey``, ``correlationid`` and
    ``causationid``, and the distributed-tracing extension (``traceparent``, ``tracestate``). Build
    one with ``catalogue.new_event``; read its payload with ``catalogue.parse_payload``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(default_factory=_new_id, min_length=1)
    source: str = Field(min_length=1, description="URI-reference of the producer, e.g. /civicgrid/org-graph.")
    type: str = Field(
        min_length=1, description="The event type, e.g. cn.civicgrid.org.membership.started.v1."
    )
    specversion: Literal["1.0"] = SPEC_VERSION
    time: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When it happened (UTC)."
    )
    subject: str | None = Field(default=None, description="What the event is about within the source.")
    datacontenttype: Literal["application/json"] = JSON_CONTENT_TYPE
    dataschema: str = Field(default_factory=_dataschema_default, description="urn:civicgrid:schema:<type>.")
    partitionkey: str = Field(min_length=1, description="The community code: the Kafka record key.")
    correlationid: str | None = Field(default=None, description="The id shared by a whole conversation.")
    causationid: str | None = Field(
        default=None, description="The id of the event or request that caused this."
    )
    traceparent: str | None = Field(
        default_factory=_current_traceparent,
        description="W3C trace context of the operation that created the event (CloudEvents "
        "distributed-tracing extension); set when the producer traces, else absent.",
    )
    tracestate: str | None = Field(
        default_factory=_current_tracestate, description="W3C tracestate that goes with traceparent."
    )
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    @model_validator(mode="after")
    def _schema_matches_type(self) -> CloudEvent:
        expected = schema_urn(self.type)
        if self.dataschema != expected:
            raise ValueError(f"dataschema must be {expected!r} for type {self.type!r}")
        return self

    def to_kafka(self) -> KafkaRecord:
        """Kafka protocol binding, binary content mode: attributes in ``ce_`` headers, data as JSON value."""
        attributes: dict[str, str | None] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": self.specversion,
            "time": _format_time(self.time),
            "subject": self.subject,
            "dataschema": self.dataschema,
            "partitionkey": self.partitionkey,
            "correlationid": self.correlationid,
            "causationid": self.causationid,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
        }
        headers = [(f"ce_{name}", value.encode()) for name, value in attributes.items() if value is not None]
        headers.append((CONTENT_TYPE_HEADER, self.datacontenttype.encode()))
        value = _ENCODER.encode(self.data).encode()
        return KafkaRecord(key=self.partitionkey.encode(), value=value, headers=headers)

    @classmethod
    def from_kafka(cls, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]) -> CloudEvent:
        """Decode and validate a Kafka record, binary or structured mode; the data is checked too.

        Raises ``InvalidEvent`` (``UnknownEventType`` for a type the catalogue does not list) with a
        readable reason for anything that breaks the contract.
        """
        found = _decode_headers(headers)
        content_type = found.get(CONTENT_TYPE_HEADER, JSON_CONTENT_TYPE)
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type == STRUCTURED_CONTENT_TYPE:
            attributes = _structured_attributes(value)
        elif media_type == JSON_CONTENT_TYPE:
            attributes = _binary_attributes(found, value)
        else:
            raise InvalidEvent(
                f"unsupported content-type {content_type!r}: expected {JSON_CONTENT_TYPE} (binary mode) "
                f"or {STRUCTURED_CONTENT_TYPE} (structured mode)"
            )
        return _validated(cls, attributes, key)


def _decode_headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """The ``ce_`` and content-type headers as text; other headers are not ours and are left alone."""
    found: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if not (name.startswith("ce_") or name == CONTENT_TYPE_HEADER):
            continue
        if name in found:
            raise InvalidEvent(f"duplicate header {name}")
        try:
            found[name] = bytes(raw_value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent(f"header {name} is not valid UTF-8") from None
    return found


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_object(value: bytes, what: str) -> dict[str, Any]:
    try:
        # pydantic-core's parser (a fifth of the json module's cost); it refuses a little more than
        # json.loads (UTF-16/32, a BOM, lone surrogate escapes), which then decides as it always did.
        parsed = from_json(value, allow_inf_nan=False)
    except ValueError:
        try:
            # What json.loads does with bytes (UTF-8/16/32 detected), with the one shared decoder.
            parsed = _DECODER.decode(bytes(value).decode(json.detect_encoding(value), "surrogatepass"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidEvent(f"{what} is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidEvent(f"{what} is not a JSON object")
    return parsed


def _binary_attributes(found: dict[str, str], value: bytes) -> dict[str, Any]:
    for name in _REQUIRED_ATTRIBUTES:
        if f"ce_{name}" not in found:
            raise InvalidEvent(f"missing header ce_{name}")
    attributes: dict[str, Any] = {name[3:]: text for name, text in found.items() if name.startswith("ce_")}
    attributes["data"] = _json_object(value, "data")
    return attributes


def _structured_attributes(value: bytes) -> dict[str, Any]:
    attributes = _json_object(value, "structured event")
    for name in (*_REQUIRED_ATTRIBUTES, "data"):
        if name not in attributes:
            if name == "data" and "data_base64" in attributes:
                raise InvalidEvent("data_base64 is not supported: data must be a JSON object")
            raise InvalidEvent(f"missing attribute {name}")
    if not isinstance(attributes["data"], dict):
        raise InvalidEvent("data is not a JSON object")
    content_type = attributes.get("datacontenttype", JSON_CONTENT_TYPE)
    if content_type != JSON_CONTENT_TYPE:
        raise InvalidEvent(f"unsupported datacontenttype {content_type!r}: expected {JSON_CONTENT_TYPE}")
    return attributes


def _validated(cls: type[CloudEvent], attributes: dict[str, Any], key: bytes | None) -> CloudEvent:
    # Imported here: the catalogue builds events, so it imports this module.
    from civicgrid_contracts import catalogue

    if attributes["specversion"] != SPEC_VERSION:
        raise InvalidEvent(f"unsupported specversion {attributes['specversion']!r}: expected {SPEC_VERSION}")
    catalogue.spec_for(str(attributes["type"]))  # UnknownEventType if the catalogue does not list it
    # A received event keeps the trace context it came with, never the receiver's current one.
    attributes.setdefault("traceparent", None)
    attributes.setdefault("tracestate", None)
    try:
        key_text = key.decode("utf-8") if key else None
    except UnicodeDecodeError:
        raise InvalidEvent("record key is not valid UTF-8") from None
    partition_key = attributes.get("partitionkey")
    if partition_key is None:
        if key_text is None:
            raise InvalidEvent("missing partition key: neither ce_partitionkey nor a record key")
        attributes["partitionkey"] = key_text
    elif key_text is not None and key_text != partition_key:
        raise InvalidEvent("record key does not match ce_partitionkey")
    try:
        event = cls.model_validate(attributes)
    except ValidationError as error:
        raise InvalidEvent(f"invalid envelope: {summarise(error, '')}") from None
    catalogue.parse_payload(event)
    return event
