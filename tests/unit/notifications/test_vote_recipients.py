"""Whom an owners' vote is told to: the owners its own fact names, whatever notifications has learnt of
the compound's households so far (those facts travel on another topic, in no order with the vote's)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from civicgrid_contracts.events import deliberation
from civicgrid_notifications.domain.rules import load_default_rulebook
from civicgrid_notifications.service_layer.ports import Directory
from civicgrid_notifications.service_layer.recipients import resolve_recipients


class HouseholdsSoFar:
    """A directory that knows the owners of the compounds it was given, and nothing else."""

    def __init__(self, owners: dict[str, set[str]]) -> None:
        self.owners = owners
        self.asked: list[str] = []

    async def compound_owners(self, compound_code: str) -> set[str]:
        self.asked.append(compound_code)
        return self.owners.get(compound_code, set())


def _opened(**extra: Any) -> deliberation.VoteOpened:
    return deliberation.VoteOpened(
        community_code="420106002003",
        vote_id="v-1",
        compound_code="420106002003-C01",
        title="更换物业",
        matter="property_manager",
        major=False,
        vote_basis="per_household",
        eligible_voters=3,
        closes_at=datetime(2099, 1, 1, tzinfo=UTC),
        **extra,
    )


async def _owners_told(payload: deliberation.VoteOpened, directory: HouseholdsSoFar) -> set[str]:
    book = load_default_rulebook()
    (rule,) = book.for_event(deliberation.VoteOpened.event_type)
    return await resolve_recipients(rule, payload, cast(Directory, directory), book)


async def test_a_vote_that_names_its_owners_reaches_them_before_their_households_are_known() -> None:
    directory = HouseholdsSoFar({})  # no household fact of the compound has arrived yet
    told = await _owners_told(_opened(owner_person_ids=["p1", "p2", "p3"]), directory)
    assert told == {"p1", "p2", "p3"}
    assert directory.asked == []


async def test_a_vote_fact_from_before_the_owners_were_named_falls_back_to_the_known_households() -> None:
    directory = HouseholdsSoFar({"420106002003-C01": {"p1", "p9"}})
    told = await _owners_told(_opened(), directory)
    assert told == {"p1", "p9"}
    assert directory.asked == ["420106002003-C01"]
