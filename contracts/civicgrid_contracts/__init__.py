"""CivicGrid's shared event vocabulary: the envelope, the topic catalogue and the payloads.

Depends on pydantic and the standard library only. Everything other code needs is importable from
here; the payload classes also from ``civicgrid_contracts.events``.
"""

from civicgrid_contracts.catalogue import (
    EventSpec,
    Topic,
    all_specs,
    all_topics,
    dead_letter_topic,
    new_event,
    parse_payload,
    spec_for,
    topic_for,
)
from civicgrid_contracts.compat import Incompatibility, compare
from civicgrid_contracts.envelope import CloudEvent, KafkaRecord, schema_urn
from civicgrid_contracts.errors import InvalidEvent, UnknownEventType
from civicgrid_contracts.events.base import EventPayload
from civicgrid_contracts.values import (
    CommunityCode,
    FreeText,
    GridId,
    Identifier,
    MaskedPhone,
    PlaceCode,
    ShortText,
    mask_phone,
    redact_personal_data,
)
from civicgrid_contracts.version import __version__

__all__ = [
    "CloudEvent",
    "CommunityCode",
    "EventPayload",
    "EventSpec",
    "FreeText",
    "GridId",
    "Identifier",
    "Incompatibility",
    "InvalidEvent",
    "KafkaRecord",
    "MaskedPhone",
    "PlaceCode",
    "ShortText",
    "Topic",
    "UnknownEventType",
    "__version__",
    "all_specs",
    "all_topics",
    "compare",
    "dead_letter_topic",
    "mask_phone",
    "new_event",
    "parse_payload",
    "redact_personal_data",
    "schema_urn",
    "spec_for",
    "topic_for",
]
