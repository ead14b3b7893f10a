"""What the use cases need from outside, as abstract ports.

The MongoDB adapters implement them and ``bootstrap`` wires them in; the unit tests of the use cases
use in-memory fakes (``tests/unit/resources/fakes.py``). Nothing here names a driver.

Writes go through one ``UnitOfWork``: it translates the aggregate's domain events to contract events
(with their causation and correlation ids), stores the aggregate together with those events in its
embedded outbox, and wakes the outbox relay. Reads for the API go through ``Views`` (plain documents,
shaped as the API shows them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from civicgrid_contracts.events.base import EventPayload
from civicgrid_resources.domain.appointments import Appointment
from civicgrid_resources.domain.deployment import Offer, Resource
from civicgrid_resources.domain.events import DomainEvent
from civicgrid_resources.domain.needs import Need
from civicgrid_resources.domain.points import PointsEntry
from civicgrid_resources.domain.requests import ServiceRequest
from civicgrid_resources.domain.teams import Team

View = dict[str, Any]
"""A stored aggregate (or a figure) as the API shows it."""

A = TypeVar("A")
A_co = TypeVar("A_co", covariant=True)
R = TypeVar("R")


class Aggregate(Protocol):
    version: int

    def take_events(self) -> list[DomainEvent]: ...


@dataclass(frozen=True)
class Cause:
    """What a change answers: the inbound event that caused it and the conversation it belongs to."""

    causation_id: str | None = None
    correlation_id: str | None = None


class Repository(Protocol[A_co]):
    async def get(self, key: str) -> A_co:
        """The aggregate; ``NotFound`` if there is none."""
        ...

    async def find(self, key: str) -> A_co | None: ...


class ResourceRepository(Repository[Resource], Protocol):
    async def of_person(self, person_id: str) -> list[Resource]: ...

    async def of_unit(self, unit_id: str) -> list[Resource]: ...


class PointsLedger(Protocol):
    async def find(self, entry_id: str) -> PointsEntry | None: ...

    async def balance(self, resource_id: str) -> int:
        """What the resource holds now: the sum of its entries (awards minus redemptions)."""
        ...

    def exclusive(self, resource_id: str) -> AbstractAsyncContextManager[None]:
        """Balance-changing steps of one resource take turns inside this (awards need not: they only add)."""
        ...


class UnitOfWork(Protocol):
    """One place for the write sequence: translate events, store them with the aggregate, wake the relay."""

    @property
    def requests(self) -> Repository[ServiceRequest]: ...
    @property
    def resources(self) -> ResourceRepository: ...
    @property
    def teams(self) -> Repository[Team]: ...
    @property
    def needs(self) -> Repository[Need]: ...
    @property
    def offers(self) -> Repository[Offer]: ...
    @property
    def points(self) -> PointsLedger: ...

    async def add(self, aggregate: Aggregate, cause: Cause | None = None) -> None:
        """Store a new aggregate with its events; ``Conflict`` if its id is taken."""
        ...

    async def save(self, aggregate: Aggregate, cause: Cause | None = None) -> None:
        """Store a change if the aggregate is still at the version it was read at; ``Conflict`` if not."""
        ...

    async def change(
        self, kind: type[A], key: str, apply: Callable[[A], R], cause: Cause | None = None
    ) -> tuple[A, R]:
        """Apply ``apply`` to the current aggregate and store the result: changes of one aggregate take
        turns (none is refused because another came first; ``apply`` re-checks the rules on what it sees)."""
        ...


# -- the org-graph projection ---------------------------------------------------------------------


@dataclass(frozen=True)
class GridInfo:
    grid_id: str
    community_code: str
    name: str | None
    building_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildingInfo:
    code: str
    community_code: str | None
    grid_id: str | None


class Directory(Protocol):
    """What this service knows of org-graph's places, from org-graph's events."""

    async def community_known(self, code: str) -> bool: ...

    async def grid(self, grid_id: str) -> GridInfo | None: ...

    async def building(self, code: str) -> BuildingInfo | None: ...

    async def grids_of(self, community_code: str) -> list[GridInfo]: ...

    async def apply(self, payload: EventPayload) -> None:
        """Apply one org-graph fact (idempotent: applying it twice changes nothing)."""
        ...


# -- reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    community_code: str | None = None
    resident_person_id: str | None = None
    grid_id: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Region:
    """What a dashboard covers: a grid, or every request under a region code."""

    level: str  # grid | community | street | district | city | province
    code: str


@dataclass(frozen=True)
class Counters:
    """The dashboards' sums of one group."""

    total: int = 0
    open: int = 0
    responded: int = 0
    resolved: int = 0
    evaluated: int = 0
    satisfied: int = 0
    rating_sum: int = 0
    escalated: int = 0


@dataclass(frozen=True)
class ServiceSums:
    tasks: int = 0
    hours: float = 0.0
    points: int = 0


@dataclass(frozen=True)
class RankRow:
    resource_id: str
    points: int
    hours: float


@dataclass(frozen=True)
class PointsSums:
    earned: int = 0
    redeemed: int = 0
    hours: float = 0.0
    entries: list[View] = field(default_factory=list)


class Views(Protocol):
    """The read model: stored aggregates as the API shows them, and the sums behind the figures."""

    async def request(self, request_id: str) -> View: ...
    async def requests(self, query: RequestQuery, limit: int) -> list[View]: ...
    async def resource(self, resource_id: str) -> View: ...
    async def resources(
        self, community_code: str, kind: str | None, grid_id: str | None, limit: int
    ) -> list[View]: ...
    async def team(self, team_id: str) -> View | None: ...
    async def need(self, need_id: str) -> View: ...
    async def needs(self, community_code: str, projects: bool = False) -> list[View]:
        """The community's needs list, or (``projects``) its projects list: projects agreed in
        deliberation, claimed by a team or resource to lead them."""
        ...

    async def offer(self, offer_id: str) -> View: ...
    async def offers_in_street(self, street_code: str) -> list[View]: ...
    async def points_entry(self, entry_id: str) -> View: ...
    async def points_of(self, resource_id: str, entries: int) -> PointsSums: ...
    async def ranking(self, community_code: str | None, grid_id: str | None, limit: int) -> list[RankRow]: ...
    async def service_sums(
        self, resource_ids: Sequence[str], since: datetime, until: datetime
    ) -> Mapping[str, ServiceSums]: ...


class Dashboards(Protocol):
    """Supervision figures: statistics of requests by place, and the open requests past their deadline."""

    async def counters(self, region: Region, group_by: str) -> dict[str | None, Counters]: ...
    async def overdue_counts(self, region: Region, group_by: str, now: datetime) -> dict[str | None, int]: ...
    async def overdue(self, region: Region, now: datetime, limit: int) -> list[View]: ...
    async def rebuild(self) -> int:
        """Recompute the statistics from the request documents; returns the requests read."""
        ...

    async def fold(self) -> int:
        """Compact what request writes recorded into the statistics (off every write path)."""
        ...


class Deadlines(Protocol):
    """Open requests by deadline, as the SLA clock reads them."""

    async def due(self, now: datetime, limit: int) -> list[str]: ...

    async def correct(self, request_id: str, request: ServiceRequest | None) -> None:
        """Make the entry of ``request_id`` agree with the request (none: forget it)."""
        ...


class Inbox(Protocol):
    """Event ids a consumer has handled (for consumers whose effects are idempotent anyway)."""

    async def seen(self, consumer: str, event_id: str) -> bool: ...

    async def remember(self, consumer: str, event_id: str) -> None: ...


class Appointments(Protocol):
    """What resources learnt of org-graph's memberships, one record per membership id."""

    async def record(self, membership_id: str, learn: Callable[[Appointment], Appointment]) -> Appointment:
        """Add what one fact says to the membership's record (created empty if none) and return it.

        Facts of one membership arrive one at a time (one partition: the community's)."""
        ...

    async def remember_name(self, person_id: str, display_name: str) -> None:
        """The name org-graph registered the person under (``person.registered``)."""
        ...

    async def name_of(self, person_id: str) -> str | None: ...


class Maintenance(Protocol):
    async def reconcile(self) -> dict[str, int]:
        """Check the store's side entries against the documents (a safety net, not a repair step)."""
        ...


Clock = Callable[[], datetime]
RelayWaker = Callable[[], None]
