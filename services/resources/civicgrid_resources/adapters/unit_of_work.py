"""The one write sequence of this service: translate the aggregate's domain events to contract events,
store the aggregate and those events in one document update (its embedded outbox), wake the relay.

Which collection and which document mapping an aggregate uses is data (``_KINDS``), not a chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_resources.adapters import documents as docs
from civicgrid_resources.adapters.aggregation import grouped_sums
from civicgrid_resources.adapters.documents import Document
from civicgrid_resources.adapters.events import OutboxWriter
from civicgrid_resources.adapters.mongo import AggregateCollection, Change, MongoStore
from civicgrid_resources.domain.deployment import Offer, Resource
from civicgrid_resources.domain.needs import Need
from civicgrid_resources.domain.points import PointsEntry
from civicgrid_resources.domain.requests import ServiceRequest
from civicgrid_resources.domain.teams import Team
from civicgrid_resources.service_layer.ports import Aggregate, Cause, RelayWaker

A = TypeVar("A")
R = TypeVar("R")

BALANCE_LEASE = "point_balances"


@dataclass(frozen=True)
class Kind(Generic[A]):
    """How one aggregate type is stored."""

    collection: AggregateCollection
    key: Callable[[A], str]
    fields: Callable[[A], Document]
    load: Callable[[Document], A]


class MongoRepository(Generic[A]):
    def __init__(self, kind: Kind[A]) -> None:
        self._kind = kind

    async def get(self, key: str) -> A:
        return self._kind.load(await self._kind.collection.get(key))

    async def find(self, key: str) -> A | None:
        doc = await self._kind.collection.find(key)
        return None if doc is None else self._kind.load(doc)


class MongoResources(MongoRepository[Resource]):
    async def of_person(self, person_id: str) -> list[Resource]:
        return await self._where({"person_id": person_id})

    async def of_unit(self, unit_id: str) -> list[Resource]:
        return await self._where({"unit_id": unit_id})

    async def _where(self, match: Document) -> list[Resource]:
        cursor = self._kind.collection.collection.find(match, {"outbox": 0}).sort("_id", 1)
        return [docs.resource_from(d) async for d in cursor]


class MongoPointsLedger(MongoRepository[PointsEntry]):
    def __init__(self, kind: Kind[PointsEntry], store: MongoStore) -> None:
        super().__init__(kind)
        self._store = store

    async def balance(self, resource_id: str) -> int:
        sums = await grouped_sums(
            self._kind.collection.collection, {"resource_id": resource_id}, None, {"points": "$points"}
        )
        return int(sums.get(None, {"points": 0})["points"])

    @asynccontextmanager
    async def exclusive(self, resource_id: str) -> AsyncIterator[None]:
        # A lease of its own (not the ledger entries'): the balance is a sum over many documents.
        async with self._store.locks.hold(BALANCE_LEASE, resource_id):
            yield


class MongoUnitOfWork:
    def __init__(self, store: MongoStore, outbox: OutboxWriter, wake_relay: RelayWaker) -> None:
        self._outbox = outbox
        self._wake_relay = wake_relay
        self._kinds: dict[type[Any], Kind[Any]] = {
            ServiceRequest: Kind(
                store.requests, lambda r: r.request_id, docs.request_fields, docs.request_from
            ),
            Resource: Kind(
                store.resources, lambda r: r.resource_id, docs.resource_fields, docs.resource_from
            ),
            Team: Kind(store.teams, lambda t: t.team_id, docs.team_fields, docs.team_from),
            Need: Kind(store.needs, lambda n: n.need_id, docs.need_fields, docs.need_from),
            Offer: Kind(store.offers, lambda o: o.offer_id, docs.offer_fields, docs.offer_from),
            PointsEntry: Kind(store.points, lambda e: e.entry_id, docs.entry_fields, docs.entry_from),
        }
        self.requests = MongoRepository[ServiceRequest](self._kinds[ServiceRequest])
        self.resources = MongoResources(self._kinds[Resource])
        self.teams = MongoRepository[Team](self._kinds[Team])
        self.needs = MongoRepository[Need](self._kinds[Need])
        self.offers = MongoRepository[Offer](self._kinds[Offer])
        self.points = MongoPointsLedger(self._kinds[PointsEntry], store)

    def _kind(self, aggregate_type: type[A]) -> Kind[A]:
        kind = self._kinds.get(aggregate_type)
        if kind is None:
            raise TypeError(f"{aggregate_type.__name__} is not an aggregate of this service")
        return cast(Kind[A], kind)

    def _events(self, aggregate: Aggregate, cause: Cause | None) -> list[CloudEvent]:
        return self._outbox.translate(aggregate.take_events(), cause)

    def _stored(self, events: list[CloudEvent]) -> None:
        if events:
            self._wake_relay()

    async def add(self, aggregate: Aggregate, cause: Cause | None = None) -> None:
        kind = self._kind(type(aggregate))
        events = self._events(aggregate, cause)
        await kind.collection.insert(kind.key(aggregate), kind.fields(aggregate), events)
        aggregate.version = 1
        self._stored(events)

    async def save(self, aggregate: Aggregate, cause: Cause | None = None) -> None:
        kind = self._kind(type(aggregate))
        events = self._events(aggregate, cause)
        await kind.collection.save_or_conflict(
            kind.key(aggregate), aggregate.version, kind.fields(aggregate), events
        )
        aggregate.version += 1
        self._stored(events)

    async def change(
        self, kind_of: type[A], key: str, apply: Callable[[A], R], cause: Cause | None = None
    ) -> tuple[A, R]:
        kind = self._kind(kind_of)

        def transform(current: Document) -> Change[tuple[A, R, list[CloudEvent]]]:
            aggregate = kind.load(current)
            result = apply(aggregate)
            events = self._events(cast(Aggregate, aggregate), cause)
            return Change(kind.fields(aggregate), events, (aggregate, result, events))

        aggregate, result, events = await kind.collection.modify(key, transform)
        cast(Aggregate, aggregate).version += 1
        self._stored(events)
        return aggregate, result
