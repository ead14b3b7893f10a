"""What the use cases need from outside, as abstract ports; the MongoDB adapters implement them and
``bootstrap`` wires them in; unit tests use in-memory fakes. Nothing here names a driver.

Every aggregate change goes through ``UnitOfWork``: ``add`` (a new aggregate, idempotent by id and
request fingerprint) and ``change`` (read, apply a domain step, store the aggregate with its events in
its embedded outbox, under the document's lease). Either wakes the outbox relay.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from civicgrid_deliberation.domain.events import DomainEvent
from civicgrid_deliberation.domain.forums import Invitation
from civicgrid_deliberation.domain.meetings import Participant
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice, Unit, Voter

View = dict[str, Any]
A = TypeVar("A")
R = TypeVar("R")


class Aggregate(Protocol):
    version: int

    def take_events(self) -> list[DomainEvent]: ...


@dataclass(frozen=True)
class Fingerprint:
    """An ``Idempotency-Key`` write: the same key and body find the first result; another body is a 409."""

    key: str
    body: str


class UnitOfWork(Protocol):
    async def add(self, aggregate: Aggregate, fingerprint: Fingerprint | None = None) -> tuple[Any, bool]:
        """Store a new aggregate with its events. Returns (the stored aggregate, created). If one with
        the same id exists: the same fingerprint returns it (created False); else ``Conflict``."""
        ...

    async def get(self, kind: type[A], key: str) -> A:
        """``NotFound`` naming the kind if there is none."""
        ...

    async def find(self, kind: type[A], key: str) -> A | None: ...

    async def change(self, kind: type[A], key: str, apply: Callable[[A], R]) -> tuple[A, R]:
        """Apply a domain step to the stored aggregate and store it with its events, under its lease."""
        ...

    def exclusive(self, kind: type[Any], key: str) -> AbstractAsyncContextManager[None]:
        """Hold the aggregate's lease for steps that read other stores (a vote's ballots) in between;
        inside, write with ``save`` (``change`` would wait for the lease held here)."""
        ...

    async def save(self, aggregate: Aggregate) -> None:
        """Store a changed aggregate with its events; the caller holds its lease (``exclusive``)."""
        ...


class Directory(Protocol):
    """deliberation's projection of org-graph's organisations and memberships."""

    async def invitees(
        self, invitations: Sequence[Invitation], forum_place: str, community: str
    ) -> list[Participant]:
        """Holders of open posts in organisations of the invited kinds at the invited places."""
        ...

    async def members_of(self, org_kinds: Sequence[str], place_code: str) -> list[str]:
        """Person ids holding open posts in organisations of these kinds at ``place_code``."""
        ...


class Households(Protocol):
    """deliberation's projection of org-graph's households (the eligibility roll)."""

    async def units_of(self, compound_code: str) -> list[Unit]: ...

    async def of_person(self, person_id: str) -> list[View]:
        """Households the person owns, lives in or keeps in touch with (code, compound, role)."""
        ...

    async def representatives_of(self, community_code: str) -> list[str]:
        """Person ids of the residents' representatives who keep in touch with households there."""
        ...


class Rolls(Protocol):
    """A vote's roll, frozen when it opens."""

    async def freeze(self, vote_id: str, voters: Mapping[str, Voter]) -> None: ...

    async def load(self, vote_id: str) -> dict[str, Voter]: ...

    async def voter(self, vote_id: str, voter_id: str) -> Voter | None: ...


class Ballots(Protocol):
    async def cast(
        self,
        vote_id: str,
        voter_id: str,
        choice: Choice,
        person_id: str,
        still_open: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """One ballot per voter: casting again (while open) replaces the choice. ``still_open`` is
        awaited where no close can come in between (it raises if the vote no longer takes ballots);
        concurrent ballots are all recorded."""
        ...

    async def of_vote(self, vote_id: str) -> dict[str, Choice]: ...

    async def mine(self, vote_id: str, voter_ids: Sequence[str]) -> dict[str, Choice]: ...

    def sealed(self, vote_id: str) -> AbstractAsyncContextManager[None]:
        """Inside, no ballot of the vote is recorded (they wait, then find ``still_open`` failing once
        the vote is stored closed): the close reads, tallies and stores the vote here."""
        ...


class CompoundRules(Protocol):
    async def of(self, compound_code: str) -> AssemblyRules:
        """The compound's rules; the Civil Code's defaults where it set none."""
        ...

    async def set(self, compound_code: str, rules: AssemblyRules, by: str) -> None: ...


class Views(Protocol):
    """Read models for the API (plain documents as the API shows them)."""

    async def meetings(self, place_prefix: str | None, person_id: str | None, limit: int) -> list[View]: ...

    async def topics(self, place_prefix: str, limit: int) -> list[View]: ...

    async def votes(self, compound_codes: Sequence[str], limit: int) -> list[View]: ...

    async def disclosures(self, place_code: str, limit: int) -> list[View]:
        """Public items of a compound, or of a community and all its compounds, newest first."""
        ...

    async def votes_due(self, now: datetime, limit: int) -> list[str]:
        """Ids of open votes whose closing time has passed."""
        ...


class ProjectionStore(Protocol):
    """Where the consumers write org-graph's facts (idempotent: upserts by id and version)."""

    async def organisation(self, org_id: str, fields: Mapping[str, Any]) -> None: ...

    async def membership(self, membership_id: str, fields: Mapping[str, Any]) -> None: ...

    async def household(self, household_code: str, version: int, fields: Mapping[str, Any] | None) -> None:
        """Upsert (``fields``) or remove (``None``) unless a newer version is stored."""
        ...

    async def dissolve_memberships_of(self, org_id: str) -> None: ...
