"""In-memory fakes of deliberation's ports: use cases tested in milliseconds, no servers."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from civicgrid_deliberation.domain.events import DomainEvent
from civicgrid_deliberation.domain.forums import Invitation
from civicgrid_deliberation.domain.meetings import Participant
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice, Unit, Voter
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_deliberation.service_layer.ports import Aggregate, Fingerprint, View
from civicgrid_runtime.errors import Conflict, NotFound

A = TypeVar("A")
R = TypeVar("R")

_IDS = {"Meeting": "meeting_id", "Topic": "topic_id", "Vote": "vote_id", "Appraisal": "appraisal_id"}


def _key(aggregate: Any) -> str:
    return str(getattr(aggregate, _IDS.get(type(aggregate).__name__, "item_id")))


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.stored: dict[tuple[type[Any], str], Any] = {}
        self.fingerprints: dict[tuple[type[Any], str], Fingerprint | None] = {}
        self.published: list[DomainEvent] = []

    async def add(self, aggregate: Aggregate, fingerprint: Fingerprint | None = None) -> tuple[Any, bool]:
        key = (type(aggregate), _key(aggregate))
        events = aggregate.take_events()
        if key in self.stored:
            if fingerprint is None or self.fingerprints[key] != fingerprint:
                raise Conflict("exists already", field="Idempotency-Key")
            return copy.deepcopy(self.stored[key]), False
        aggregate.version = 1
        self.stored[key] = copy.deepcopy(aggregate)
        self.fingerprints[key] = fingerprint
        self.published += events
        return aggregate, True

    async def find(self, kind: type[A], key: str) -> A | None:
        found = self.stored.get((kind, key))
        return None if found is None else copy.deepcopy(found)

    async def get(self, kind: type[A], key: str) -> A:
        found = await self.find(kind, key)
        if found is None:
            raise NotFound(f"no {kind.__name__} {key}")
        return found

    @contextlib.asynccontextmanager
    async def _held(self) -> AsyncIterator[None]:
        yield

    def exclusive(self, kind: type[Any], key: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._held()

    async def save(self, aggregate: Aggregate) -> None:
        key = (type(aggregate), _key(aggregate))
        if self.stored[key].version != aggregate.version:
            raise Conflict("changed meanwhile")
        self.published += aggregate.take_events()
        aggregate.version += 1
        self.stored[key] = copy.deepcopy(aggregate)

    async def change(self, kind: type[A], key: str, apply: Callable[[A], R]) -> tuple[A, R]:
        aggregate = await self.get(kind, key)
        result = apply(aggregate)
        await self.save(aggregate)  # type: ignore[arg-type]
        return aggregate, result

    def events_of(self, kind: type[DomainEvent]) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]


class FakeOrgAndHouseholds:
    """Directory and Households: posts as (org kind, place, org id, person, post); households as rows."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, str, str, str]] = []
        self.households: dict[str, dict[str, Any]] = {}

    def household(
        self,
        code: str,
        compound: str | None,
        area_m2: float,
        owners: Sequence[str],
        representative: str | None = None,
    ) -> None:
        self.households[code] = {
            "community_code": code[:12],
            "compound_code": compound,
            "area": round(area_m2 * 100),
            "owners": list(owners),
            "representative": representative,
        }

    async def invitees(
        self, invitations: Sequence[Invitation], forum_place: str, community: str
    ) -> list[Participant]:
        found = []
        for inv in invitations:
            place = forum_place if inv.where == "forum" else community
            found += [
                Participant(p, o, k, post, inv.party)
                for k, pl, o, p, post in self.posts
                if (k, pl) == (inv.org_kind, place)
            ]
        return found

    async def members_of(self, org_kinds: Sequence[str], place_code: str) -> list[str]:
        return sorted({p for k, pl, _, p, _ in self.posts if k in org_kinds and pl == place_code})

    async def units_of(self, compound_code: str) -> list[Unit]:
        return [
            Unit(code, h["area"], tuple(h["owners"]))
            for code, h in self.households.items()
            if h["compound_code"] == compound_code
        ]

    async def of_person(self, person_id: str) -> list[View]:
        found = []
        for code, h in self.households.items():
            if person_id in h["owners"] or h["representative"] == person_id:
                owner = person_id in h["owners"]
                found.append(
                    {
                        "household_code": code,
                        "community_code": h["community_code"],
                        "compound_code": h["compound_code"],
                        "role": "owner" if owner else "representative",
                        "representative": h["representative"] == person_id,
                    }
                )
        return found

    async def representatives_of(self, community_code: str) -> list[str]:
        return sorted(
            {
                h["representative"]
                for h in self.households.values()
                if h["community_code"] == community_code and h["representative"]
            }
        )


class FakeRolls:
    def __init__(self) -> None:
        self.rolls: dict[str, dict[str, Voter]] = {}

    async def freeze(self, vote_id: str, voters: Mapping[str, Voter]) -> None:
        self.rolls[vote_id] = dict(voters)

    async def load(self, vote_id: str) -> dict[str, Voter]:
        return dict(self.rolls[vote_id])

    async def voter(self, vote_id: str, voter_id: str) -> Voter | None:
        return self.rolls[vote_id].get(voter_id)


class FakeBallots:
    def __init__(self) -> None:
        self.ballots: dict[str, dict[str, Choice]] = {}
        self.reads = 0

    async def cast(
        self,
        vote_id: str,
        voter_id: str,
        choice: Choice,
        person_id: str,
        still_open: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if still_open is not None:
            await still_open()
        self.ballots.setdefault(vote_id, {})[voter_id] = choice

    @contextlib.asynccontextmanager
    async def sealed(self, vote_id: str) -> AsyncIterator[None]:
        yield

    async def of_vote(self, vote_id: str) -> dict[str, Choice]:
        self.reads += 1
        return dict(self.ballots.get(vote_id, {}))

    async def mine(self, vote_id: str, voter_ids: Sequence[str]) -> dict[str, Choice]:
        return {v: c for v, c in self.ballots.get(vote_id, {}).items() if v in voter_ids}


class FakeRules:
    def __init__(self) -> None:
        self.rules: dict[str, AssemblyRules] = {}

    async def of(self, compound_code: str) -> AssemblyRules:
        return self.rules.get(compound_code, AssemblyRules())

    async def set(self, compound_code: str, rules: AssemblyRules, by: str) -> None:
        self.rules[compound_code] = rules


class FakeViews:
    def __init__(self, uow: FakeUnitOfWork | None = None) -> None:
        self._uow = uow

    async def votes_due(self, now: datetime, limit: int) -> list[str]:
        if self._uow is None:
            return []
        due = [
            a.vote_id
            for a in self._uow.stored.values()
            if type(a).__name__ == "Vote" and a.status.value == "open" and a.closes_at <= now
        ]
        return due[:limit]

    async def meetings(self, place_prefix: str | None, person_id: str | None, limit: int) -> list[View]:
        return []

    async def topics(self, place_prefix: str, limit: int) -> list[View]:
        return []

    async def votes(self, compound_codes: Sequence[str], limit: int) -> list[View]:
        return []

    async def disclosures(self, place_code: str, limit: int) -> list[View]:
        return []


class FakeProjections:
    async def organisation(self, org_id: str, fields: Mapping[str, Any]) -> None: ...

    async def membership(self, membership_id: str, fields: Mapping[str, Any]) -> None: ...

    async def household(
        self, household_code: str, version: int, fields: Mapping[str, Any] | None
    ) -> None: ...

    async def dissolve_memberships_of(self, org_id: str) -> None: ...


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def fake_context() -> tuple[Context, FakeUnitOfWork, FakeOrgAndHouseholds, FakeBallots, Clock]:
    uow, graph, ballots, clock = FakeUnitOfWork(), FakeOrgAndHouseholds(), FakeBallots(), Clock()
    ctx = Context(
        uow=uow,
        directory=graph,
        households=graph,
        rolls=FakeRolls(),
        ballots=ballots,
        rules=FakeRules(),
        views=FakeViews(uow),
        projections=FakeProjections(),
        clock=clock,
    )
    return ctx, uow, graph, ballots, clock
