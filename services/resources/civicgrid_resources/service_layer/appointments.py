"""Org-graph's appointments to grid posts, taken into the grid's team (the grid's own workers serve
its requests without reporting in a second time).

Each fact updates the membership's record first, then brings the person's resource and the grid's
team to what the record says. Every step only converges (adds what is missing, moves an end), so a
fact handled again after a crash half-way finishes the work and changes nothing that was done.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date

from civicgrid_resources.domain.appointments import Appointment, appointee_resource_id, resource_kind_for
from civicgrid_resources.domain.deployment import Resource, Term, team_id_for
from civicgrid_resources.domain.teams import Team
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import Cause
from civicgrid_runtime.errors import Conflict


@dataclass(frozen=True)
class TermStarted:
    membership_id: str
    person_id: str
    community_code: str
    grid_id: str | None
    post: str
    start: date


async def take_term_started(ctx: Context, started: TermStarted, cause: Cause | None = None) -> None:
    """``membership.started``: a grid post's holder joins the grid and its team for the term."""
    if started.grid_id is None:
        return  # not a grid post: nothing of resources' (no record kept either)
    appointment = await ctx.appointments.record(
        started.membership_id,
        lambda known: known.started(
            started.person_id, started.community_code, started.grid_id, started.post, started.start
        ),
    )
    await _settle(ctx, appointment, cause)


async def take_person_registered(ctx: Context, person_id: str, display_name: str) -> None:
    """``person.registered``: the name a resource made from this person's appointment is shown under."""
    await ctx.appointments.remember_name(person_id, display_name)


async def take_term_ended(ctx: Context, membership_id: str, end: date, cause: Cause | None = None) -> None:
    """``membership.ended``: the seat ends with the term. Ending a term not seen started is kept, so
    its start, arriving later, seats nobody after the end."""
    appointment = await ctx.appointments.record(membership_id, lambda known: known.ended(end))
    await _settle(ctx, appointment, cause)


async def _settle(ctx: Context, appointment: Appointment, cause: Cause | None) -> None:
    term = appointment.grid_term()
    if term is None:
        return  # not a grid post, or its start is not known yet
    now = ctx.now()
    today = now.date()
    resource = await _resource(ctx, term, today, cause)
    if resource is None:
        return
    team = await _team(ctx, term, today, cause)
    if team is None:
        return
    await ctx.uow.change(Team, team.team_id, lambda current: current.seat(resource, term, today, now), cause)


async def _resource(ctx: Context, term: Term, today: date, cause: Cause | None) -> Resource | None:
    """The appointed person's resource in the community, with the term's period in the grid."""
    resource_id = appointee_resource_id(term.community_code, term.person_id)
    existing = await ctx.uow.resources.find(resource_id)
    if existing is None:
        if term.over_by(today):
            return None  # a term over before it reached here: nobody to register
        name = await ctx.appointments.name_of(term.person_id) or term.person_id
        new = Resource.appointed(
            resource_id, term.community_code, term.person_id, name, resource_kind_for(term.post), ctx.now()
        )
        with contextlib.suppress(Conflict):  # made meanwhile (the same fact again): converge on it below
            await ctx.uow.add(new, cause)
    resource, _changed = await ctx.uow.change(
        Resource, resource_id, lambda current: current.hold_post(term, today), cause
    )
    return resource


async def _team(ctx: Context, term: Term, today: date, cause: Cause | None) -> Team | None:
    """The grid's team, formed if the grid has none (a seat needs one; a term already over does not)."""
    team_id = team_id_for(term.grid_id)
    team = await ctx.uow.teams.find(team_id)
    if team is not None:
        return team
    if term.over_by(today):
        return None
    grid = await ctx.places.grid(term.grid_id)
    name = f"{grid.name}服务团队" if grid is not None and grid.name else "网格服务团队"
    formed = Team.form(term.grid_id, name, None, "网格服务（由网格岗位任职组建）", ctx.now())
    try:
        await ctx.uow.add(formed, cause)
    except Conflict:
        return await ctx.uow.teams.get(team_id)  # formed meanwhile (by hand, or this fact again)
    return formed
