"""In-memory fakes of the resources service's ports (cosmicpython's FakeUnitOfWork style).

They keep the contracts the use cases rely on — a save from a stale read is a ``Conflict``, ``change``
takes turns, ``add`` refuses a taken id — and record what a real unit of work would publish.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from civicgrid_contracts.events.base import EventPayload
from civicgrid_resources.domain.appointments import Appointment
from civicgrid_resources.domain.deployment import Offer, Resource
from civicgrid_resources.domain.events import DomainEvent
from civicgrid_resources.domain.needs import Need
from civicgrid_resources.domain.points import PointsEntry
from civicgrid_resources.domain.requests import ServiceRequest, SlaPolicy
from civicgrid_resources.domain.teams import Team
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import (
    Aggregate,
    BuildingInfo,
    Cause,
    Counters,
    GridInfo,
    PointsSums,
    RankRow,
    Region,
    RequestQuery,
    ServiceSums,
    View,
)
from civicgrid_runtime.errors import Conflict, NotFound

A = TypeVar("A")
R = TypeVar("R")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

KEYS: dict[type[Any], str] = {
    ServiceRequest: "request_id",
    Resource: "resource_id",
    Team: "team_id",
    Need: "need_id",
    Offer: "offer_id",
    PointsEntry: "entry_id",
}


def key_of(aggregate: Any) -> str:
    return str(getattr(aggregate, KEYS[type(aggregate)]))


class FakeRepository(Generic[A]):
    def __init__(self) -> None:
        self.items: dict[str, A] = {}

    async def get(self, key: str) -> A:
        found = await self.find(key)
        if found is None:
            raise NotFound(f"no {key!r}")
        return found

    async def find(self, key: str) -> A | None:
        item = self.items.get(key)
        return copy.deepcopy(item) if item is not None else None


class FakeResources(FakeRepository[Resource]):
    async def of_person(self, person_id: str) -> list[Resource]:
        return [copy.deepcopy(r) for r in self.items.values() if r.person_id == person_id]

    async def of_unit(self, unit_id: str) -> list[Resource]:
        return [copy.deepcopy(r) for r in self.items.values() if r.unit_id == unit_id]


class FakeLedger(FakeRepository[PointsEntry]):
    async def balance(self, resource_id: str) -> int:
        return sum(e.points for e in self.items.values() if e.resource_id == resource_id)

    @asynccontextmanager
    async def exclusive(self, resource_id: str) -> AsyncIterator[None]:
        yield


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.requests = FakeRepository[ServiceRequest]()
        self.resources = FakeResources()
        self.teams = FakeRepository[Team]()
        self.needs = FakeRepository[Need]()
        self.offers = FakeRepository[Offer]()
        self.points = FakeLedger()
        self.published: list[tuple[DomainEvent, Cause | None]] = []
        self.relay_woken = 0

    def _repo(self, kind: type[Any]) -> FakeRepository[Any]:
        repositories: dict[type[Any], FakeRepository[Any]] = {
            ServiceRequest: self.requests,
            Resource: self.resources,
            Team: self.teams,
            Need: self.needs,
            Offer: self.offers,
            PointsEntry: self.points,
        }
        return repositories[kind]

    def _commit(self, aggregate: Aggregate, cause: Cause | None) -> None:
        events = aggregate.take_events()
        self.published += [(e, cause) for e in events]
        aggregate.version += 1
        self._repo(type(aggregate)).items[key_of(aggregate)] = copy.deepcopy(aggregate)
        if events:
            self.relay_woken += 1

    async def add(self, aggregate: Aggregate, cause: Cause | None = None) -> None:
        if key_of(aggregate) in self._repo(type(aggregate)).items:
            raise Conflict(f"{key_of(aggregate)!r} already exists")
        self._commit(aggregate, cause)

    async def save(self, aggregate: Aggregate, cause: Cause | None = None) -> None:
        stored = self._repo(type(aggregate)).items.get(key_of(aggregate))
        if stored is None or stored.version != aggregate.version:
            raise Conflict(f"{key_of(aggregate)!r} was changed by someone else meanwhile")
        self._commit(aggregate, cause)

    async def change(
        self, kind: type[A], key: str, apply: Callable[[A], R], cause: Cause | None = None
    ) -> tuple[A, R]:
        aggregate = await self._repo(kind).get(key)
        result = apply(aggregate)
        self._commit(aggregate, cause)
        return aggregate, result

    def events(self, kind: type[DomainEvent] | None = None) -> list[DomainEvent]:
        return [e for e, _ in self.published if kind is None or isinstance(e, kind)]


def view_of(aggregate: Any) -> View:
    fields = {f.name: getattr(aggregate, f.name) for f in dataclasses.fields(aggregate) if f.name != "events"}
    return {"id": key_of(aggregate), **copy.deepcopy(fields)}


class FakeViews:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def _one(self, kind: type[Any], key: str) -> View:
        return view_of(await self._uow._repo(kind).get(key))

    async def request(self, request_id: str) -> View:
        return await self._one(ServiceRequest, request_id)

    async def requests(self, query: RequestQuery, limit: int) -> list[View]:
        wanted = {k: v for k, v in vars(query).items() if v is not None}
        found = [
            view_of(r)
            for r in self._uow.requests.items.values()
            if all(getattr(r, k) == v for k, v in wanted.items())
        ]
        return found[:limit]

    async def resource(self, resource_id: str) -> View:
        return await self._one(Resource, resource_id)

    async def resources(
        self, community_code: str, kind: str | None, grid_id: str | None, limit: int
    ) -> list[View]:
        return [view_of(r) for r in self._uow.resources.items.values() if r.community_code == community_code]

    async def team(self, team_id: str) -> View | None:
        team = self._uow.teams.items.get(team_id)
        return None if team is None else view_of(team)

    async def need(self, need_id: str) -> View:
        return {**await self._one(Need, need_id), "remaining": self._uow.needs.items[need_id].remaining}

    async def needs(self, community_code: str, projects: bool = False) -> list[View]:
        return [
            view_of(n)
            for n in self._uow.needs.items.values()
            if n.community_code == community_code and n.agreed_project == projects
        ]

    async def offer(self, offer_id: str) -> View:
        return await self._one(Offer, offer_id)

    async def offers_in_street(self, street_code: str) -> list[View]:
        return [
            {**view_of(o), "status": o.status.value}
            for o in self._uow.offers.items.values()
            if o.community_code.startswith(street_code)
        ]

    async def points_entry(self, entry_id: str) -> View:
        return await self._one(PointsEntry, entry_id)

    async def points_of(self, resource_id: str, entries: int) -> PointsSums:
        mine = [e for e in self._uow.points.items.values() if e.resource_id == resource_id]
        return PointsSums(
            earned=sum(e.points for e in mine if e.points > 0),
            redeemed=-sum(e.points for e in mine if e.points < 0),
            hours=sum(e.hours for e in mine),
            entries=[view_of(e) for e in mine][:entries],
        )

    async def ranking(self, community_code: str | None, grid_id: str | None, limit: int) -> list[RankRow]:
        totals: dict[str, int] = {}
        for e in self._uow.points.items.values():
            if e.points > 0 and (e.community_code == community_code or grid_id in e.grid_ids):
                totals[e.resource_id] = totals.get(e.resource_id, 0) + e.points
        return [RankRow(k, v, 0.0) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])][:limit]

    async def service_sums(
        self, resource_ids: Sequence[str], since: datetime, until: datetime
    ) -> Mapping[str, ServiceSums]:
        sums: dict[str, ServiceSums] = {}
        for e in self._uow.points.items.values():
            if e.resource_id in resource_ids and e.points > 0 and since <= e.at < until:
                row = sums.get(e.resource_id, ServiceSums())
                sums[e.resource_id] = ServiceSums(row.tasks + 1, row.hours + e.hours, row.points + e.points)
        return sums


class FakeDirectory:
    def __init__(self) -> None:
        self.communities: set[str] = set()
        self.grids: dict[str, GridInfo] = {}
        self.buildings: dict[str, BuildingInfo] = {}
        self.applied: list[EventPayload] = []

    def add_grid(self, grid_id: str, buildings: Sequence[str] = ()) -> None:
        self.communities.add(grid_id[:12])
        self.grids[grid_id] = GridInfo(grid_id, grid_id[:12], f"网格{grid_id[-3:]}", tuple(buildings))
        for code in buildings:
            self.buildings[code] = BuildingInfo(code, grid_id[:12], grid_id)

    async def community_known(self, code: str) -> bool:
        return code in self.communities

    async def grid(self, grid_id: str) -> GridInfo | None:
        return self.grids.get(grid_id)

    async def building(self, code: str) -> BuildingInfo | None:
        return self.buildings.get(code)

    async def grids_of(self, community_code: str) -> list[GridInfo]:
        return [g for g in self.grids.values() if g.community_code == community_code]

    async def apply(self, payload: EventPayload) -> None:
        self.applied.append(payload)


class FakeDashboards:
    async def counters(self, region: Region, group_by: str) -> dict[str | None, Counters]:
        return {}

    async def overdue_counts(self, region: Region, group_by: str, now: datetime) -> dict[str | None, int]:
        return {}

    async def overdue(self, region: Region, now: datetime, limit: int) -> list[View]:
        return []

    async def rebuild(self) -> int:
        return 0

    async def fold(self) -> int:
        return 0


class FakeDeadlines:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.corrected: list[str] = []

    async def due(self, now: datetime, limit: int) -> list[str]:
        return [r.request_id for r in self._uow.requests.items.values() if r.overdue(now)][:limit]

    async def correct(self, request_id: str, request: ServiceRequest | None) -> None:
        self.corrected.append(request_id)


class FakeInbox:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def seen(self, consumer: str, event_id: str) -> bool:
        return f"{consumer}:{event_id}" in self.ids

    async def remember(self, consumer: str, event_id: str) -> None:
        self.ids.add(f"{consumer}:{event_id}")


class FakeAppointments:
    def __init__(self) -> None:
        self.items: dict[str, Appointment] = {}
        self.names: dict[str, str] = {}

    async def record(self, membership_id: str, learn: Callable[[Appointment], Appointment]) -> Appointment:
        learnt = learn(self.items.get(membership_id, Appointment(membership_id)))
        self.items[membership_id] = learnt
        return learnt

    async def remember_name(self, person_id: str, display_name: str) -> None:
        self.names[person_id] = display_name

    async def name_of(self, person_id: str) -> str | None:
        return self.names.get(person_id)


class FakeMaintenance:
    async def reconcile(self) -> dict[str, int]:
        return {}


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fake_context(
    clock: Clock | None = None, points_per_request: int = 2
) -> tuple[Context, FakeUnitOfWork, FakeDirectory]:
    uow = FakeUnitOfWork()
    places = FakeDirectory()
    ctx = Context(
        uow=uow,
        places=places,
        views=FakeViews(uow),
        dashboards=FakeDashboards(),
        deadlines=FakeDeadlines(uow),
        maintenance=FakeMaintenance(),
        inbox=FakeInbox(),
        sla=SlaPolicy.default(),
        appointments=FakeAppointments(),
        points_per_request=points_per_request,
        clock=clock or Clock(),
    )
    return ctx, uow, places
