"""Owners' votes: opened on a roll frozen from the household projection, ballots on the phone,
closed with the double-majority decision, its arithmetic disclosed publicly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from civicgrid_deliberation.domain.disclosure import DisclosureItem, DisclosureKind, Figure
from civicgrid_deliberation.domain.forums import Forum, ForumLevel
from civicgrid_deliberation.domain.topics import Topic
from civicgrid_deliberation.domain.votes import Vote, VoteStatus
from civicgrid_deliberation.domain.voting import (
    AssemblyRules,
    Choice,
    VoteBasis,
    matter,
    tally,
    voters_of,
)
from civicgrid_deliberation.service_layer.context import (
    Context,
    ensure_coordinator,
    fingerprint,
    new_id,
    person_of,
)
from civicgrid_deliberation.service_layer.ports import Fingerprint, View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import InvalidInput, PermissionDenied


@dataclass(frozen=True)
class OpenVote:
    compound_code: str
    title: str
    matter: str
    closes_at: datetime
    topic_id: str | None = None
    request_id: str | None = None
    need_id: str | None = None


def vote_view(vote: Vote, ballots_cast: int | None = None) -> View:
    return {
        "vote_id": vote.vote_id,
        "community_code": vote.community_code,
        "compound_code": vote.compound_code,
        "title": vote.title,
        "matter": vote.matter_code,
        "major": matter(vote.matter_code).major,
        "rules": vote.rules.to_data(),
        "opened_at": vote.opened_at.isoformat(),
        "closes_at": vote.closes_at.isoformat(),
        "eligible_voters": vote.eligible_voters,
        "topic_id": vote.topic_id,
        "request_id": vote.request_id,
        "need_id": vote.need_id,
        "status": vote.status.value,
        "ballots_cast": ballots_cast,
        "decision": vote.decision,
        "resolution_id": vote.resolution_id,
        "version": vote.version,
    }


async def set_rules(ctx: Context, principal: Principal, compound_code: str, rules: AssemblyRules) -> View:
    """Record the rules the compound's owners adopted (沉默从众, the motion's basis, vote per owner...)."""
    Forum(ForumLevel.COMPOUND, compound_code)
    ensure_coordinator(principal, compound_code)
    await ctx.rules.set(compound_code, rules, principal.subject)
    return {"compound_code": compound_code, "rules": rules.to_data()}


async def get_rules(ctx: Context, compound_code: str) -> View:
    Forum(ForumLevel.COMPOUND, compound_code)
    return {"compound_code": compound_code, "rules": (await ctx.rules.of(compound_code)).to_data()}


async def open_vote(ctx: Context, principal: Principal, cmd: OpenVote, key: str | None) -> tuple[View, bool]:
    Forum(ForumLevel.COMPOUND, cmd.compound_code)
    ensure_coordinator(principal, cmd.compound_code)
    matter(cmd.matter)
    if cmd.topic_id is not None:
        topic = await ctx.uow.find(Topic, cmd.topic_id)
        if topic is None or topic.compound_code != cmd.compound_code:
            raise InvalidInput(
                f"topic {cmd.topic_id} is not a topic of {cmd.compound_code}", field="topic_id"
            )
    rules = await ctx.rules.of(cmd.compound_code)
    roll = voters_of(await ctx.households.units_of(cmd.compound_code), rules.vote_basis)
    vote = Vote.open(
        new_id("vt", principal, key),
        cmd.compound_code,
        cmd.title,
        cmd.matter,
        rules,
        principal.subject,
        ctx.clock(),
        cmd.closes_at,
        roll,
        cmd.topic_id,
        cmd.request_id,
        cmd.need_id,
    )
    existing = await ctx.uow.find(Vote, vote.vote_id)
    if existing is None:
        # The roll first: a crash before the vote is stored leaves a roll nobody reads, never a vote
        # without its roll.
        await ctx.rolls.freeze(vote.vote_id, roll)
    stored, created = await ctx.uow.add(
        vote, fingerprint(key, {**cmd.__dict__, "closes_at": str(cmd.closes_at)})
    )
    return vote_view(stored), created


async def cast_ballot(
    ctx: Context, principal: Principal, vote_id: str, choice: Choice, voter_id: str | None
) -> View:
    """An owner casts (or, while the vote is open, changes) the ballot of their household (or their own)."""
    person = person_of(principal)
    vote = await ctx.uow.get(Vote, vote_id)
    vote.ensure_accepts_ballots(ctx.clock())
    voter = await _voter_of(ctx, vote, person, voter_id)

    async def still_open() -> None:
        # Checked again where the close cannot come in between (under the ballot's bucket lease,
        # which the close holds from reading the ballots until the vote is stored closed).
        current = await ctx.uow.get(Vote, vote_id)
        current.ensure_accepts_ballots(ctx.clock())

    # Not under the vote's lease: ballots to one vote are recorded side by side (in different
    # buckets) instead of one after another.
    await ctx.ballots.cast(vote_id, voter, choice, person, still_open)
    return {"vote_id": vote_id, "voter_id": voter, "choice": choice.value, "status": vote.status.value}


async def _voter_of(ctx: Context, vote: Vote, person: str, voter_id: str | None) -> str:
    if voter_id is None:
        if vote.rules.vote_basis is VoteBasis.PER_OWNER:
            candidates = [person]
        else:
            mine = await ctx.households.of_person(person)
            candidates = [
                str(h["household_code"])
                for h in mine
                if h["role"] == "owner" and h.get("compound_code") == vote.compound_code
            ]
        on_roll = [
            c for c in candidates if (v := await ctx.rolls.voter(vote.vote_id, c)) and person in v.casters
        ]
        if not on_roll:
            raise PermissionDenied("the caller is not an owner on this vote's roll")
        if len(on_roll) > 1:
            raise InvalidInput(
                f"the caller casts {len(on_roll)} votes here; name the household in voter_id",
                field="voter_id",
            )
        return on_roll[0]
    voter = await ctx.rolls.voter(vote.vote_id, voter_id)
    if voter is None:
        raise InvalidInput(f"{voter_id} is not on this vote's roll", field="voter_id")
    if person not in voter.casters:
        raise PermissionDenied(f"only an owner of {voter_id} casts its vote")
    return voter_id


async def close_vote(ctx: Context, principal: Principal, vote_id: str) -> View:
    """Tally and close (idempotent: closing a closed vote returns its decision and finishes what a
    crash may have left undone: the topic marked decided, the decision disclosed)."""
    current = await ctx.uow.get(Vote, vote_id)
    ensure_coordinator(principal, current.compound_code)
    async with ctx.uow.exclusive(Vote, vote_id):
        vote = await ctx.uow.get(Vote, vote_id)
        if vote.status is VoteStatus.OPEN:
            roll = await ctx.rolls.load(vote_id)
            async with ctx.ballots.sealed(vote_id):
                ballots = await ctx.ballots.of_vote(vote_id)
                decision = tally(roll, ballots, matter(vote.matter_code), vote.rules)
                vote.close(decision, f"rs-{vote_id}", roll)
                await ctx.uow.save(vote)
    await _after_close(ctx, vote, principal)
    return vote_view(vote)


CLOSER = Principal("deliberation-vote-closer", frozenset({Role.ADMIN}))
"""The service itself, closing votes whose time is over (recorded as who published their decision)."""


async def close_due(ctx: Context, limit: int = 20) -> int:
    """Close the votes whose closing time has passed; returns how many were closed."""
    closed = 0
    for vote_id in await ctx.views.votes_due(ctx.clock(), limit):
        await close_vote(ctx, CLOSER, vote_id)
        closed += 1
    return closed


async def _after_close(ctx: Context, vote: Vote, principal: Principal) -> None:
    if vote.topic_id and await ctx.uow.find(Topic, vote.topic_id) is not None:
        await ctx.uow.change(Topic, vote.topic_id, lambda t: t.decided())
    decision = vote.decision or {}
    figures = [
        Figure(
            f"{m['name']} ({m['threshold']}; {'met' if m['met'] else 'not met'})",
            Decimal(str(m["ratio"])),
            "ratio",
        )
        for m in decision.get("measures", [])
    ]
    figures += [
        Figure("eligible owners", Decimal(decision["eligible"]["heads"])),
        Figure("eligible area", Decimal(str(decision["eligible"]["area_m2"])), "m2"),
        Figure("approving owners", Decimal(decision["approve"]["heads"])),
        Figure("approving area", Decimal(str(decision["approve"]["area_m2"])), "m2"),
        Figure("opposing owners", Decimal(decision["oppose"]["heads"])),
        Figure("abstaining owners", Decimal(decision["abstain"]["heads"])),
    ]
    silent = decision.get("silent_counted_as")
    body = (
        f"Owners' vote on '{vote.title}' ({vote.matter_code}): {decision.get('outcome')}. "
        f"Rule: {vote.rules.name}"
        + (f"; silent owners counted as {silent} (沉默从众)" if silent else "")
        + "."
    )
    item = DisclosureItem.publish(
        f"ds-{vote.vote_id}",
        vote.compound_code,
        DisclosureKind.DECISION,
        vote.title,
        body,
        ctx.clock(),
        principal.subject,
        figures,
        vote.vote_id,
    )
    await ctx.uow.add(item, Fingerprint("vote-closed", vote.vote_id))


async def read(ctx: Context, principal: Principal, vote_id: str) -> View:
    vote = await ctx.uow.get(Vote, vote_id)
    if principal.has_role(Role.ADMIN, Role.COORDINATOR):
        ensure_coordinator(principal, vote.compound_code)
        return vote_view(vote, len(await ctx.ballots.of_vote(vote_id)))
    person = person_of(principal)
    mine = [
        str(h["household_code"])
        for h in await ctx.households.of_person(person)
        if h.get("compound_code") == vote.compound_code
    ]
    if not mine:
        raise PermissionDenied("a vote is read by the owners of its compound")
    view = vote_view(vote)
    view["my_ballots"] = {k: v.value for k, v in (await ctx.ballots.mine(vote_id, [*mine, person])).items()}
    return view


async def mine(ctx: Context, principal: Principal, limit: int) -> list[View]:
    person = person_of(principal)
    compounds = sorted(
        {str(h["compound_code"]) for h in await ctx.households.of_person(person) if h.get("compound_code")}
    )
    return await ctx.views.votes(compounds, limit) if compounds else []
