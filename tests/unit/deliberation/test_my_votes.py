"""A member's own votes (the phone app's 议事 screen) against fakes of the ports: which voters of the roll
they may cast for, per flat and per owner; their ballots; who reads; the list's order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from civicgrid_deliberation.domain.votes import Vote
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice, VoteBasis
from civicgrid_deliberation.service_layer import my_votes, votes
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_deliberation.service_layer.ports import View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import PermissionDenied
from tests.unit.deliberation.fakes import FakeOrgAndHouseholds, FakeUnitOfWork, FakeViews, fake_context

COMMUNITY = "420106002003"
COMPOUND = f"{COMMUNITY}-C01"
COORDINATOR = Principal("coord", frozenset({Role.COORDINATOR}), region_code="420106002")


def member(person: str) -> Principal:
    return Principal(f"m-{person}", frozenset({Role.MEMBER}), person_id=person)


class ListedVotes(FakeViews):
    """Lists the stored votes of the compounds asked for, as the store's view does."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        super().__init__(uow)
        self.uow = uow

    async def votes(self, compound_codes: Sequence[str], limit: int) -> list[View]:
        found = [
            a for a in self.uow.stored.values() if isinstance(a, Vote) and a.compound_code in compound_codes
        ]
        return [
            {
                "vote_id": v.vote_id,
                "compound_code": v.compound_code,
                "title": v.title,
                "status": v.status.value,
                "closes_at": v.closes_at.isoformat(),
                "outcome": (v.decision or {}).get("outcome"),
            }
            for v in found
        ][:limit]


def flats(graph: FakeOrgAndHouseholds) -> list[str]:
    codes = [f"{COMPOUND}-B01-U1-{n}" for n in (101, 102, 201, 202)]
    graph.household(codes[0], COMPOUND, 90, ["wife", "husband"], representative="rep")
    graph.household(codes[1], COMPOUND, 50, ["landlord"])
    graph.household(codes[2], COMPOUND, 70, ["landlord"])
    graph.household(codes[3], COMPOUND, 60, ["neighbour"])
    graph.household(f"{COMMUNITY}-C02-B01-U1-101", f"{COMMUNITY}-C02", 80, ["elsewhere"])
    return codes


async def open_vote(ctx: Context, title: str = "修缮", days: int = 18) -> str:
    cmd = votes.OpenVote(
        COMPOUND, title, "use_maintenance_fund", datetime(2026, 12, 2, tzinfo=UTC) + timedelta(days)
    )
    view, _ = await votes.open_vote(ctx, COORDINATOR, cmd, None)
    return str(view["vote_id"])


async def test_co_owners_cast_one_flats_vote_and_both_see_its_ballot() -> None:
    ctx, _, graph, _, _ = fake_context()
    codes = flats(graph)
    vote_id = await open_vote(ctx)
    before = await my_votes.my_vote(ctx, member("husband"), vote_id)
    assert [(v["voter_id"], v["choice"]) for v in before["my_voters"]] == [(codes[0], None)]
    assert before["can_vote"] is True
    await votes.cast_ballot(ctx, member("wife"), vote_id, Choice.OPPOSE, None)
    after = await my_votes.my_vote(ctx, member("husband"), vote_id)
    assert [(v["voter_id"], v["choice"]) for v in after["my_voters"]] == [(codes[0], "oppose")]


async def test_an_owner_of_two_flats_casts_two_votes_per_flat_and_one_per_owner() -> None:
    ctx, _, graph, _, _ = fake_context()
    codes = flats(graph)
    per_flat = await open_vote(ctx)
    view = await my_votes.my_vote(ctx, member("landlord"), per_flat)
    assert sorted(v["voter_id"] for v in view["my_voters"]) == sorted(codes[1:3])
    await votes.set_rules(ctx, COORDINATOR, COMPOUND, AssemblyRules(vote_basis=VoteBasis.PER_OWNER))
    per_owner = await open_vote(ctx, "换物业")
    view = await my_votes.my_vote(ctx, member("landlord"), per_owner)
    [voter] = view["my_voters"]
    assert (voter["voter_id"], sorted(voter["households"]), voter["area_m2"]) == (
        "landlord",
        sorted(codes[1:3]),
        120.0,
    )


async def test_a_representative_reads_without_a_ballot_and_an_owner_elsewhere_is_refused() -> None:
    ctx, _, graph, _, _ = fake_context()
    flats(graph)
    vote_id = await open_vote(ctx)
    rep = await my_votes.my_vote(ctx, member("rep"), vote_id)
    assert (rep["my_voters"], rep["can_vote"], rep["my_households"][0]["role"]) == (
        [],
        False,
        "representative",
    )
    with pytest.raises(PermissionDenied):
        await my_votes.my_vote(ctx, member("elsewhere"), vote_id)
    with pytest.raises(PermissionDenied):
        await my_votes.my_vote(ctx, COORDINATOR, vote_id)  # a token without a person


async def test_the_list_puts_open_votes_first_soonest_closing_and_a_closed_vote_cannot_be_cast() -> None:
    ctx, uow, graph, _, clock = fake_context()
    ctx.views = ListedVotes(uow)
    flats(graph)
    late = await open_vote(ctx, "晚", days=30)
    soon = await open_vote(ctx, "早", days=10)
    done = await open_vote(ctx, "已结束", days=5)
    await votes.close_vote(ctx, COORDINATOR, done)
    listed = await my_votes.my_votes(ctx, member("neighbour"), 50)
    assert [(v["vote_id"], v["can_vote"]) for v in listed] == [(soon, True), (late, True), (done, False)]
    assert listed[2]["outcome"] == "not_quorate"
    assert await my_votes.my_votes(ctx, member("elsewhere"), 50) == []
    clock.now += timedelta(days=11)  # past the soon one's closing time, not closed yet
    assert (await my_votes.my_vote(ctx, member("neighbour"), soon))["can_vote"] is False
