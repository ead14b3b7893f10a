"""Domain events to contract events (CloudEvents), and into the aggregate's embedded outbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import resources as contract
from civicgrid_contracts.events.base import EventPayload
from civicgrid_resources.adapters.topics import Topics
from civicgrid_resources.domain import events as ev
from civicgrid_resources.service_layer.ports import Cause
from civicgrid_runtime.correlation import current_correlation_id
from civicgrid_runtime.stores.mongo import outbox_entry

SOURCE = "/civicgrid/resources"

# Translation as data: each domain event class becomes the contract payload of the same name.
CONTRACTS: dict[type[ev.DomainEvent], type[EventPayload]] = {
    cls: getattr(contract, cls.__name__)
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, ev.DomainEvent) and cls is not ev.DomainEvent
}


def _subject(event: ev.DomainEvent) -> str | None:
    for name in ("request_id", "need_id", "team_id", "offer_id", "resource_id", "award_id"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            return value
    return None


def to_cloud_event(event: ev.DomainEvent, cause: Cause | None = None) -> CloudEvent:
    """The contract event; its correlation id is the cause's, else the one of the work in progress
    (the HTTP request's, or the consumed event's)."""
    payload = CONTRACTS[type(event)].model_validate(dataclasses.asdict(event))
    cause = cause or Cause()
    return new_event(
        payload,
        source=SOURCE,
        subject=_subject(event),
        correlation_id=cause.correlation_id or current_correlation_id(),
        causation_id=cause.causation_id,
    )


class OutboxWriter:
    """Builds the outbox fields of a document update, with this service's topic names."""

    def __init__(self, topics: Topics) -> None:
        self._topics = topics

    def entries(self, events: Sequence[CloudEvent]) -> dict[str, Any]:
        return {f"outbox.{e.id}": outbox_entry(e, self._topics.for_event(e.type)) for e in events}

    def update(self, events: Sequence[CloudEvent]) -> dict[str, Any]:
        """``$set`` fields adding the events to the document's outbox (merge with the change's own)."""
        if not events:
            return {}
        return {**self.entries(events), "outbox_pending": True}

    def new_document(self, events: Sequence[CloudEvent]) -> dict[str, Any]:
        return {
            "outbox": {e.id: outbox_entry(e, self._topics.for_event(e.type)) for e in events},
            "outbox_pending": bool(events),
        }

    def translate(self, events: Sequence[ev.DomainEvent], cause: Cause | None = None) -> list[CloudEvent]:
        return [to_cloud_event(e, cause) for e in events]
