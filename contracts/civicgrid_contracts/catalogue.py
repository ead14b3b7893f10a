"""The topic catalogue as data: which topics exist, who owns them, which event types travel on each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, overload

from pydantic import ValidationError

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.errors import InvalidEvent, UnknownEventType, summarise
from civicgrid_contracts.events import deliberation, households, municipal, notifications, org, resources
from civicgrid_contracts.events.base import EventPayload

P = TypeVar("P", bound=EventPayload)

DEAD_LETTER_SUFFIX = ".dlq"
PARTITION_KEY = "community code"


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    owner: str
    key: str = PARTITION_KEY
    partitions: int = 6
    dead_letter_of: str | None = None
    """For a dead-letter topic: the topic whose failed records it holds."""


PayloadModel = type[EventPayload]


@dataclass(frozen=True)
class EventSpec:
    type: str
    topic: str
    payload_model: PayloadModel
    description: str


def dead_letter_topic(topic: str) -> str:
    """``<topic>.dlq``: where records of ``topic`` that fail validation or handling go, with the reason."""
    return topic + DEAD_LETTER_SUFFIX


REDRIVE_TOPIC_PREFIX = "civicgrid.redrive."


def redrive_topic(group_id: str) -> str:
    """``civicgrid.redrive.<group>``: dead letters replayed to the one consumer group that rejected them.

    Every consumer group also listens on its own redrive topic (operations, not a contract with
    municipal systems; records keep their original CloudEvent headers)."""
    return REDRIVE_TOPIC_PREFIX + group_id


def is_redrive_topic(topic: str) -> bool:
    return topic.startswith(REDRIVE_TOPIC_PREFIX)


_TOPICS: tuple[Topic, ...] = (
    Topic(
        "civicgrid.org.places.v1",
        "Places (divisions down to buildings) and grids.",
        "org-graph",
        partitions=6,
    ),
    Topic(
        "civicgrid.org.organisations.v1",
        "Organisations of both hierarchies and units.",
        "org-graph",
        partitions=6,
    ),
    Topic(
        "civicgrid.org.memberships.v1", "People, their posts and terms; cross-appointment flags.", "org-graph"
    ),
    Topic(
        "civicgrid.org.households.v1",
        "Households under buildings: owners and exclusive areas, residents, representatives (ids only).",
        "org-graph",
        partitions=6,
    ),
    Topic(
        "civicgrid.resources.deployment.v1",
        "Resources sinking down: report-in, joining grids, teams, the three lists, points.",
        "resources",
        partitions=12,
    ),
    Topic(
        "civicgrid.resources.requests.v1",
        "The closed loop of residents' requests.",
        "resources",
        partitions=24,
    ),
    Topic(
        "civicgrid.deliberation.v1",
        "Deliberation: meetings, topics and motions, owners' votes with their arithmetic, resolutions, "
        "democratic appraisal, public disclosure (ids only).",
        "deliberation",
        partitions=6,
    ),
    Topic(
        "civicgrid.notifications.delivery.v1",
        "Outcomes of notification delivery.",
        "notifications",
        partitions=12,
    ),
    Topic(
        "municipal.hotline12345.requests.v1",
        "12345 hotline request intake (inbound).",
        "municipal",
        partitions=12,
    ),
    Topic(
        "municipal.statistics.population.v1",
        "Population and household statistics per community (inbound).",
        "municipal",
        partitions=3,
    ),
)

(
    _PLACES,
    _ORGANISATIONS,
    _MEMBERSHIPS,
    _HOUSEHOLDS,
    _DEPLOYMENT,
    _REQUESTS,
    _DELIBERATION,
    _DELIVERY,
    _HOTLINE,
    _STATISTICS,
) = (topic.name for topic in _TOPICS)

_ROUTES: tuple[tuple[str, tuple[type[EventPayload], ...]], ...] = (
    (
        _PLACES,
        (
            org.PlaceRegistered,
            org.PlaceUpdated,
            org.PlaceDissolved,
            org.GridDefined,
            org.GridBuildingMoved,
            org.GridBuildingAssigned,
            org.GridUpdated,
            org.GridDissolved,
        ),
    ),
    (_ORGANISATIONS, (org.OrganisationFormed, org.OrganisationDissolved, org.OrganisationUpdated)),
    (
        _MEMBERSHIPS,
        (org.PersonRegistered, org.MembershipStarted, org.MembershipEnded, org.CrossAppointmentFlagged),
    ),
    (
        _HOUSEHOLDS,
        (households.HouseholdRegistered, households.HouseholdUpdated, households.HouseholdRemoved),
    ),
    (
        _DEPLOYMENT,
        (
            resources.ResourceReportedIn,
            resources.ResourceReportInConfirmed,
            resources.ResourceJoinedGrid,
            resources.ResourceLeftGrid,
            resources.TeamFormed,
            resources.TeamMemberAdded,
            resources.NeedPublished,
            resources.NeedClaimed,
            resources.OfferPublished,
            resources.OfferUpdated,
            resources.OfferWithdrawn,
            resources.PointsAwarded,
            resources.PointsRedeemed,
        ),
    ),
    (
        _REQUESTS,
        (
            resources.RequestReceived,
            resources.RequestDispatched,
            resources.RequestMoved,
            resources.RequestEscalated,
            resources.RequestAccepted,
            resources.RequestProgressed,
            resources.RequestResolved,
            resources.RequestEvaluated,
            resources.RequestReopened,
            resources.RequestClosed,
        ),
    ),
    (
        _DELIBERATION,
        (
            deliberation.MeetingConvened,
            deliberation.MeetingHeld,
            deliberation.TopicRaised,
            deliberation.TopicMotionReached,
            deliberation.VoteOpened,
            deliberation.VoteClosed,
            deliberation.ResolutionAdopted,
            deliberation.ResolutionRejected,
            deliberation.AppraisalPublished,
            deliberation.DisclosurePublished,
        ),
    ),
    (_DELIVERY, (notifications.NotificationDelivered, notifications.NotificationDeliveryFailed)),
    (_HOTLINE, (municipal.HotlineRequestSubmitted,)),
    (_STATISTICS, (municipal.PopulationReported,)),
)


def _description(model: type[EventPayload]) -> str:
    return (model.__doc__ or model.__name__).strip().split("\n\n", 1)[0].replace("\n", " ")


_SPECS: dict[str, EventSpec] = {
    model.event_type: EventSpec(model.event_type, topic, model, _description(model))
    for topic, models in _ROUTES
    for model in models
}

_ALL_TOPICS: tuple[Topic, ...] = (
    *_TOPICS,
    *(
        Topic(
            dead_letter_topic(t.name),
            f"Dead letters of {t.name}: records that failed validation or handling, with error headers.",
            t.owner,
            partitions=3,
            dead_letter_of=t.name,
        )
        for t in _TOPICS
    ),
)


def all_topics() -> tuple[Topic, ...]:
    """Every topic, the dead-letter topics included (they have ``dead_letter_of`` set)."""
    return _ALL_TOPICS


def all_specs() -> tuple[EventSpec, ...]:
    """Every event type, in catalogue order."""
    return tuple(_SPECS.values())


def spec_for(event_type: str) -> EventSpec:
    """The spec of an event type; ``UnknownEventType`` (a ``KeyError``, an ``InvalidEvent``) if unlisted."""
    try:
        return _SPECS[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def topic_for(event_type: str) -> str:
    """The name of the topic an event type is published on."""
    return spec_for(event_type).topic


@overload
def parse_payload(event: CloudEvent) -> EventPayload: ...
@overload
def parse_payload(event: CloudEvent, expected: type[P]) -> P: ...
def parse_payload(event: CloudEvent, expected: type[EventPayload] | None = None) -> EventPayload:
    """Validate ``event.data`` against the payload model of ``event.type`` and return the model.

    With ``expected``, also check that the event is of that payload class (and return it typed).
    Raises ``InvalidEvent`` with a summary of what failed (field paths, never personal-data values).
    """
    model = spec_for(event.type).payload_model
    if expected is not None and model is not expected:
        raise InvalidEvent(f"expected {expected.event_type!r}, got {event.type!r}")
    try:
        payload = model.model_validate(event.data)
    except ValidationError as error:
        raise InvalidEvent(f"invalid data for {event.type}: {summarise(error, 'data')}") from None
    if payload.community_code != event.partitionkey:
        key, code = event.partitionkey, payload.community_code
        raise InvalidEvent(f"partitionkey {key!r} does not match data.community_code {code!r}")
    return payload


def new_event(
    payload: EventPayload,
    *,
    source: str,
    subject: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Wrap a payload in an envelope: type, dataschema and partition key (the community code) follow."""
    spec = spec_for(payload.event_type)
    if type(payload) is not spec.payload_model:
        raise TypeError(f"{type(payload).__name__} is not the catalogued model of {spec.type}")
    optional: dict[str, object] = {}
    if event_id is not None:
        optional["id"] = event_id
    if time is not None:
        optional["time"] = time
    return CloudEvent.model_validate(
        {
            "source": source,
            "type": spec.type,
            "subject": subject,
            "partitionkey": payload.community_code,
            "correlationid": correlation_id,
            "causationid": causation_id,
            "data": payload.model_dump(mode="json"),
            **optional,
        }
    )
