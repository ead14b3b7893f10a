"""What the use cases need from the store: one transaction's reads and writes, and its events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from civicgrid_orggraph.domain.cross_appointments import Holding
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.households import Household
from civicgrid_orggraph.domain.shapes import OrgRef, PlaceRef
from civicgrid_orggraph.domain.vocabulary import (
    AppointmentBasis,
    EndReason,
    OrganisationKind,
    PlaceKind,
    PostKind,
)

Result = dict[str, Any]


@dataclass(frozen=True)
class PlaceRecord:
    code: str
    kind: PlaceKind
    name: str
    parent_code: str | None
    active: bool
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> PlaceRef:
        return PlaceRef(self.code, self.kind, self.parent_code, self.name)


@dataclass(frozen=True)
class GridRecord:
    grid_id: str
    name: str
    community_code: str
    active: bool


@dataclass(frozen=True)
class OrgRecord:
    ref: OrgRef
    name: str
    parent_org_id: str | None
    active: bool


@dataclass(frozen=True)
class PersonRecord:
    person_id: str
    display_name: str
    party_member: bool
    phone: str | None
    community_code: str


@dataclass(frozen=True)
class MembershipRecord:
    membership_id: str
    person_id: str
    post_id: str
    post: PostKind
    org_id: str
    community_code: str
    start_date: date
    end_date: date | None
    basis: AppointmentBasis


@dataclass(frozen=True)
class NewMembership:
    membership_id: str
    person_id: str
    post_id: str
    post: PostKind
    org_id: str
    scope_code: str | None
    community_code: str
    start_date: date
    term_end_date: date | None
    basis: AppointmentBasis
    basis_reference: str
    cross_appointment: bool
    recorded_by: str


@dataclass(frozen=True)
class Locks:
    """What one write locks, taken in one canonical order before anything else is read or written.

    Order: posts, organisations, people, grids, places, households (each sorted by key). Every org-graph write
    takes its locks through ``GraphTx.lock`` first, so two writers never wait for each other in opposite
    orders (no deadlock); a writer that finds a lock taken queues behind it, then reads what the other
    committed.
    A key may name something that does not exist yet (a new post, a client-supplied id): its lock exists
    all the same, so concurrent first writers of one thing queue too.
    """

    posts: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    grids: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    households: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        posts: Iterable[str | None] = (),
        organisations: Iterable[str | None] = (),
        people: Iterable[str | None] = (),
        grids: Iterable[str | None] = (),
        places: Iterable[str | None] = (),
        households: Iterable[str | None] = (),
    ) -> Locks:
        def keys(values: Iterable[str | None]) -> frozenset[str]:
            return frozenset(v for v in values if v)

        return cls(
            keys(posts), keys(organisations), keys(people), keys(grids), keys(places), keys(households)
        )

    @classmethod
    def union(cls, many: Iterable[Locks]) -> Locks:
        all_locks = list(many)
        return cls(
            frozenset().union(*(x.posts for x in all_locks)),
            frozenset().union(*(x.organisations for x in all_locks)),
            frozenset().union(*(x.people for x in all_locks)),
            frozenset().union(*(x.grids for x in all_locks)),
            frozenset().union(*(x.places for x in all_locks)),
            frozenset().union(*(x.households for x in all_locks)),
        )


class GraphTx(Protocol):
    """Reads and writes inside one managed transaction; ``emit`` adds events to its outbox."""

    def emit(self, event: DomainEvent) -> None: ...

    async def lock(self, locks: Locks) -> None:
        """Take the write locks of ``locks`` in the canonical order (see ``Locks``)."""
        ...

    async def get_place(self, code: str) -> PlaceRecord | None: ...
    async def create_place(self, place: PlaceRecord, recorded_by: str) -> None: ...
    async def update_place(self, code: str, name: str | None, attributes: dict[str, Any]) -> None: ...
    async def dissolve_place(self, code: str, merged_into: str | None, reason: str | None) -> None: ...
    async def active_dependants(self, code: str) -> list[str]: ...

    async def get_grid(self, grid_id: str) -> GridRecord | None: ...
    async def create_grid(self, grid: GridRecord, covers: str, recorded_by: str) -> None: ...
    async def grid_of_building(self, building_code: str) -> str | None: ...
    async def set_building_grid(self, building_code: str, grid_id: str) -> None: ...

    async def rename_grid(self, grid_id: str, name: str) -> None: ...
    async def dissolve_grid(self, grid_id: str, reason: str | None) -> None: ...
    async def buildings_in_grid(self, grid_id: str) -> list[str]: ...
    async def open_memberships_of_grid(self, grid_id: str) -> list[MembershipRecord]: ...

    async def get_org(self, org_id: str) -> OrgRecord | None: ...
    async def rename_org(self, org_id: str, name: str) -> None: ...
    async def active_orgs_at(self, place_code: str) -> list[OrgRef]: ...
    async def create_org(self, org: OrgRecord, formed_on: date, recorded_by: str) -> None: ...
    async def dissolve_org(
        self, org_id: str, on: date, reason: str | None, successor: str | None
    ) -> None: ...
    async def active_children_of_org(self, org_id: str) -> list[str]: ...

    async def get_person(self, person_id: str) -> PersonRecord | None: ...
    async def person_by_id_hash(self, id_hash: str) -> PersonRecord | None: ...
    async def create_person(self, person: PersonRecord, id_hash: str | None, recorded_by: str) -> None: ...

    async def ensure_post(
        self, post_id: str, org_id: str, post: PostKind, scope_code: str | None
    ) -> None: ...
    async def holders_of_post(self, post_id: str, on: date, onwards: bool = False) -> list[MembershipRecord]:
        """Terms of the post held on ``on``; with ``onwards``, also those starting later."""
        ...

    async def holdings_of(self, person_id: str, on: date) -> list[Holding]: ...
    async def get_membership(self, membership_id: str) -> MembershipRecord | None: ...
    async def create_membership(self, membership: NewMembership) -> None: ...
    async def end_membership(
        self, membership_id: str, end: date, reason: EndReason, note: str | None
    ) -> None: ...
    async def open_memberships_of_org(self, org_id: str) -> list[MembershipRecord]: ...
    async def record_flag(
        self, rule: str, person_id: str, membership_ids: Sequence[str], details: str
    ) -> None: ...

    async def get_places(self, codes: Sequence[str]) -> dict[str, PlaceRecord]: ...
    async def create_places(self, places: Sequence[PlaceRecord], recorded_by: str) -> None: ...
    async def get_grids(self, grid_ids: Sequence[str]) -> dict[str, GridRecord]: ...
    async def grids_of_buildings(self, codes: Sequence[str]) -> dict[str, str]: ...
    async def set_building_grids(self, pairs: Sequence[tuple[str, str]]) -> None: ...

    async def claim_event(self, consumer: str, event_id: str) -> bool: ...

    async def get_households(self, codes: Sequence[str]) -> dict[str, Household]:
        """The households of ``codes`` that exist (removed ones included, ``active`` false)."""
        ...

    async def save_households(self, households: Sequence[Household], recorded_by: str) -> None:
        """Create or replace each household's state (entrance, area, owners, residents, representative)."""
        ...

    async def remove_household(self, household: Household) -> None:
        """Mark removed (kept with its last version, its links to persons dropped)."""
        ...

    async def existing_people(self, person_ids: Sequence[str]) -> set[str]: ...
    async def create_people(self, people: Sequence[PersonRecord], recorded_by: str) -> None:
        """Register persons in bulk (no phone, no ID hash: the household roster's owners)."""
        ...


Work = Callable[[GraphTx], Awaitable[Result]]


class UnitOfWork(Protocol):
    async def run(
        self,
        work: Work,
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        causation_id: str | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
    ) -> Result:
        """Run ``work`` in one transaction with its outbox; with a key, a retry returns the first result
        (the same key with another body is a 409 naming the fields that differ). ``causation_id`` (the
        inbound event's id) and ``correlation_id`` (default: the request's or message's) are stamped on
        every event the work emits. A dry run does everything, the
        translation of its events included, and then rolls back: it fails exactly where the real run
        would."""
        ...


__all__ = ["GraphTx", "OrganisationKind", "Result", "UnitOfWork", "Work"]
