"""A member's own view of the owners' votes (the phone app's 议事 screen): the votes of the compounds
where they own or live, and for each the voters on its roll they may cast for (their household, or
themself where the compound votes per owner) with the ballot each has now.

Read-only: it uses the roll frozen when the vote opened (who may cast is decided there, as when a
ballot is cast) and the ballots port; it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from civicgrid_deliberation.domain.votes import Vote
from civicgrid_deliberation.service_layer.context import Context, person_of
from civicgrid_deliberation.service_layer.ports import View
from civicgrid_deliberation.service_layer.votes import vote_view
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import PermissionDenied


async def _mine_on_roll(ctx: Context, vote_id: str, person: str, households: Sequence[View]) -> list[View]:
    """The roll's voters the person may cast for, with their current ballot (``None``: not cast)."""
    candidates = [str(h["household_code"]) for h in households if h["role"] == "owner"] + [person]
    voters = []
    for candidate in dict.fromkeys(candidates):
        voter = await ctx.rolls.voter(vote_id, candidate)
        if voter is not None and person in voter.casters:
            voters.append(voter)
    ballots = await ctx.ballots.mine(vote_id, [v.voter_id for v in voters]) if voters else {}
    return [
        {
            "voter_id": v.voter_id,
            "households": list(v.households),
            "area_m2": float(v.area),
            "choice": ballots[v.voter_id].value if v.voter_id in ballots else None,
        }
        for v in voters
    ]


def _households_in(households: Sequence[View], compound_code: str) -> list[View]:
    return [
        {"household_code": h["household_code"], "role": h["role"]}
        for h in households
        if h.get("compound_code") == compound_code
    ]


async def my_votes(ctx: Context, principal: Principal, limit: int) -> list[View]:
    """Votes of the member's compounds, open ones first (soonest closing), then closed ones."""
    person = person_of(principal)
    households = await ctx.households.of_person(person)
    compounds = sorted({str(h["compound_code"]) for h in households if h.get("compound_code")})
    if not compounds:
        return []
    found = []
    for summary in await ctx.views.votes(compounds, limit):
        mine = _households_in(households, summary["compound_code"])
        voters = await _mine_on_roll(ctx, summary["vote_id"], person, mine)
        found.append(
            {
                **summary,
                "my_households": mine,
                "my_voters": voters,
                "can_vote": summary["status"] == "open" and bool(voters),
            }
        )
    found.sort(key=lambda v: (v["status"] != "open", v["closes_at"] if v["status"] == "open" else ""))
    return found


async def my_vote(ctx: Context, principal: Principal, vote_id: str) -> View:
    """One vote as its owner sees it: the matter, the rules, the decision with its arithmetic once
    closed, and the voters they may cast for with their ballots. Read by those who own or live in
    its compound."""
    person = person_of(principal)
    vote = await ctx.uow.get(Vote, vote_id)
    mine = _households_in(await ctx.households.of_person(person), vote.compound_code)
    if not mine:
        raise PermissionDenied("a vote is read by the owners and residents of its compound")
    voters = await _mine_on_roll(ctx, vote_id, person, mine)
    return {
        **vote_view(vote),
        "my_households": mine,
        "my_voters": voters,
        "can_vote": vote.status.value == "open" and vote.closes_at > ctx.clock() and bool(voters),
    }
