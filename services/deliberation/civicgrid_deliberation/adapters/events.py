"""Domain events to contract events (CloudEvents); the catalogue topics this service uses (the
runtime's broker maps them to the run's names when a ``topic_suffix`` isolates a test run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import deliberation as contract
from civicgrid_contracts.events.base import EventPayload
from civicgrid_deliberation.domain import events as ev
from civicgrid_runtime.events import make_event

SOURCE = "/civicgrid/deliberation"
DELIBERATION = "civicgrid.deliberation.v1"
ORGANISATIONS = "civicgrid.org.organisations.v1"
MEMBERSHIPS = "civicgrid.org.memberships.v1"
HOUSEHOLDS = "civicgrid.org.households.v1"

# Translation as data: each domain event class becomes the contract payload of the same name.
CONTRACTS: dict[type[ev.DomainEvent], type[EventPayload]] = {
    cls: getattr(contract, cls.__name__)
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, ev.DomainEvent) and cls is not ev.DomainEvent
}

_SUBJECTS = ("resolution_id", "vote_id", "meeting_id", "topic_id", "appraisal_id", "item_id")


def to_cloud_event(event: ev.DomainEvent) -> CloudEvent:
    payload = CONTRACTS[type(event)].model_validate(dataclasses.asdict(event))
    subject = next((getattr(event, n) for n in _SUBJECTS if isinstance(getattr(event, n, None), str)), None)
    return make_event(payload, source=SOURCE, subject=subject)


def translate(events: Sequence[ev.DomainEvent]) -> list[CloudEvent]:
    return [to_cloud_event(e) for e in events]


PRODUCED = [DELIBERATION]
CONSUMED = [ORGANISATIONS, MEMBERSHIPS, HOUSEHOLDS]
