"""Topics raised by residents, representatives or coordinators (from a resources request or need),
supported by owners until the compound's motion threshold puts them on the assembly agenda."""

from __future__ import annotations

from dataclasses import dataclass

from civicgrid_deliberation.domain.forums import compound_of
from civicgrid_deliberation.domain.topics import RaisedAs, Topic
from civicgrid_deliberation.domain.votes import ballot_voter
from civicgrid_deliberation.domain.voting import motion_status, voters_of
from civicgrid_deliberation.service_layer.context import (
    Context,
    ensure_coordinator,
    fingerprint,
    new_id,
    person_of,
)
from civicgrid_deliberation.service_layer.ports import View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import InvalidInput, PermissionDenied


@dataclass(frozen=True)
class RaiseTopic:
    place_code: str
    title: str
    description: str = ""
    request_id: str | None = None
    need_id: str | None = None


def topic_view(topic: Topic) -> View:
    return {
        "topic_id": topic.topic_id,
        "community_code": topic.community_code,
        "place_code": topic.place_code,
        "compound_code": topic.compound_code,
        "title": topic.title,
        "description": topic.description,
        "raised_as": topic.raised_as.value,
        "request_id": topic.request_id,
        "need_id": topic.need_id,
        "status": topic.status.value,
        "supporters": len(topic.supporters),
        "motion": topic.motion,
        "version": topic.version,
    }


async def raise_topic(
    ctx: Context, principal: Principal, cmd: RaiseTopic, key: str | None
) -> tuple[View, bool]:
    """Coordinators raise topics anywhere in their region (those from resources name the request or
    need); a member raises one where they own, live or represent households."""
    if len(cmd.place_code) < 12 or not cmd.place_code[:12].isdigit():
        raise InvalidInput("a topic belongs to a community, compound or building", field="place_code")
    if principal.has_role(Role.ADMIN, Role.COORDINATOR):
        ensure_coordinator(principal, cmd.place_code)
        raised_as = RaisedAs.REQUEST if (cmd.request_id or cmd.need_id) else RaisedAs.COORDINATOR
        raised_by = principal.person_id or principal.subject
    else:
        raised_by = person_of(principal)
        raised_as = await _member_standing(ctx, raised_by, cmd.place_code)
        if cmd.request_id or cmd.need_id:
            raised_as = RaisedAs.REQUEST
    topic = Topic.raise_(
        new_id("tp", principal, key),
        cmd.place_code,
        cmd.title,
        cmd.description,
        raised_by,
        raised_as,
        cmd.request_id,
        cmd.need_id,
    )
    stored, created = await ctx.uow.add(topic, fingerprint(key, cmd.__dict__))
    return topic_view(stored), created


async def _member_standing(ctx: Context, person_id: str, place_code: str) -> RaisedAs:
    mine = await ctx.households.of_person(person_id)
    here = [h for h in mine if _within(h, place_code)]
    if not here:
        raise PermissionDenied("a resident raises topics where they own, live in or represent a household")
    return RaisedAs.REPRESENTATIVE if any(h.get("representative") for h in here) else RaisedAs.RESIDENT


def _contains(place_code: str, code: str) -> bool:
    """Whether ``code`` (a household, building, compound) lies in ``place_code`` (codes nest by '-')."""
    return code == place_code or code.startswith(place_code + "-")


def _within(household: View, place_code: str) -> bool:
    return _contains(place_code, str(household["household_code"]))


async def support(ctx: Context, principal: Principal, topic_id: str, voter_id: str | None) -> View:
    """An owner supports a topic of their compound (once per vote they hold, as the compound counts
    votes); the motion is re-checked against the compound's current households."""
    person = person_of(principal)
    topic = await ctx.uow.get(Topic, topic_id)
    compound = topic.compound_code or compound_of(topic.place_code)
    if compound is None:
        raise InvalidInput("only topics of a compound take the owners' motion", field="topic_id")
    rules = await ctx.rules.of(compound)
    voters = voters_of(await ctx.households.units_of(compound), rules.vote_basis)
    supporter = ballot_voter(voters, person, voter_id)

    def apply(t: Topic) -> bool:
        t.support(supporter)
        return t.check_motion(motion_status(voters, t.supporters, rules))

    updated, reached = await ctx.uow.change(Topic, topic_id, apply)
    view = topic_view(updated)
    view["motion_status"] = motion_status(voters, updated.supporters, rules).to_data()
    view["reached_now"] = reached
    return view


async def read(ctx: Context, principal: Principal, topic_id: str) -> View:
    topic = await ctx.uow.get(Topic, topic_id)
    if not principal.has_role(Role.ADMIN, Role.COORDINATOR):
        # a resident reads the topics of their own community (where they may list them), no others
        mine = await ctx.households.of_person(person_of(principal))
        if not any(_within(h, topic.community_code) for h in mine):
            raise PermissionDenied("a resident reads the topics of their own community")
    elif not principal.can_manage(topic.community_code):
        raise PermissionDenied("outside the caller's region")
    return topic_view(topic)


async def listing(ctx: Context, principal: Principal, place_code: str, limit: int) -> list[View]:
    if principal.has_role(Role.ADMIN, Role.COORDINATOR):
        ensure_coordinator(principal, place_code)
    else:
        person = person_of(principal)
        mine = await ctx.households.of_person(person)
        # Their community, their compound, or a place inside their compound.
        if not any(
            _within(h, place_code)
            or (h.get("compound_code") and _contains(str(h["compound_code"]), place_code))
            for h in mine
        ):
            raise PermissionDenied("a resident lists the topics of their own community or compound")
    return await ctx.views.topics(place_code, limit)
