"""Use cases of the residents' request loop. Each change is one write of the request with its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from civicgrid_resources.domain.deployment import ensure_serves_community, team_id_for
from civicgrid_resources.domain.requests import (
    Actor,
    Assignee,
    EscalationReason,
    Outcome,
    ServiceRequest,
    Tier,
    Urgency,
    tier_office,
)
from civicgrid_resources.service_layer import points
from civicgrid_resources.service_layer.context import Context, to_millis
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_resources.service_layer.ports import Cause, RequestQuery, View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation


@dataclass(frozen=True)
class NewRequest:
    community_code: str
    channel: str
    kind: str
    category: str
    urgency: Urgency
    summary: str
    building_code: str | None = None
    grid_id: str | None = None
    household: str | None = None
    resident_person_id: str | None = None
    external_ref: str | None = None
    request_id: str | None = None
    address: str | None = None
    received_at: datetime | None = None  # when the source took it (a 12345 ticket); else now


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.person_id or principal.subject, principal.person_id)


async def _locate(ctx: Context, new: NewRequest, strict: bool) -> str | None:
    """The grid of the request: given, or the building's grid from the org-graph projection."""
    if new.grid_id is not None:
        if await ctx.places.grid(new.grid_id) is None:
            raise RuleViolation(
                "grid_known",
                f"grid {new.grid_id} is unknown here: org-graph has not published it (yet)",
            )
        return new.grid_id
    if new.building_code is None:
        return None
    building = await ctx.places.building(new.building_code)
    if building is None or not building.grid_id:
        if strict:
            raise RuleViolation(
                "building_known",
                f"building {new.building_code} is unknown or in no grid: "
                "org-graph has not published it (yet)",
            )
        return None
    if building.community_code != new.community_code:
        raise RuleViolation(
            "building_in_community", f"building {new.building_code} is not in community {new.community_code}"
        )
    return building.grid_id


async def grid_assignees(ctx: Context, grid_id: str) -> list[Assignee]:
    """The members of the grid's service team who serve today (an appointed grid worker from the first
    to the last day of their term); the grid itself (its grid worker desk) when nobody does.

    A person seated twice (reported in by hand and appointed in org-graph) is dispatched once, as the
    member listed first."""
    team = await ctx.uow.teams.find(team_id_for(grid_id))
    serving = team.serving(ctx.now().date()) if team is not None else []
    assignees: list[Assignee] = []
    persons: set[str] = set()
    for member in serving:
        if member.person_id is not None:
            if member.person_id in persons:
                continue
            persons.add(member.person_id)
        assignees.append(Assignee(member.resource_id, member.person_id))
    return assignees or [Assignee(f"grid-{grid_id}")]


@dataclass(frozen=True)
class Received:
    request: ServiceRequest
    created: bool  # False: the same request had been recorded before (an idempotent repeat)


INTAKE_FIELDS = (
    "community_code",
    "channel",
    "kind",
    "category",
    "urgency",
    "summary",
    "building_code",
    "grid_id",
    "household",
    "resident_person_id",
    "address",
)


def differences(existing: ServiceRequest, new: NewRequest) -> list[str]:
    """The fields in which ``new`` differs from what ``existing`` was recorded with."""
    recorded = {
        **{name: getattr(existing, name) for name in INTAKE_FIELDS},
        "urgency": existing.urgency.value,
        "grid_id": existing.intake_grid_id,
    }
    given = {**{name: getattr(new, name) for name in INTAKE_FIELDS}, "urgency": Urgency(new.urgency).value}
    return [name for name in INTAKE_FIELDS if recorded[name] != given[name]]


async def _recorded_before(ctx: Context, new: NewRequest) -> Received | None:
    """The same call made again returns what it made; the same id with other values is a 409."""
    if new.request_id is None:
        return None
    existing = await ctx.uow.requests.find(new.request_id)
    if existing is None:
        return None
    differing = differences(existing, new)
    if differing:
        raise Conflict(
            f"request {new.request_id} was already recorded with other values "
            f"({', '.join(differing)}); give a new request_id for a new request",
            request_id=new.request_id,
            differing_fields=differing,
        )
    return Received(existing, created=False)


async def receive(
    ctx: Context, new: NewRequest, actor: Actor, *, strict: bool = True, cause: Cause | None = None
) -> Received:
    """Record a request and dispatch it at once: to the grid's team, or to the community.

    Idempotent by ``request_id``: recording the same request again changes nothing."""
    repeated = await _recorded_before(ctx, new)
    if repeated is not None:
        return repeated
    if not await ctx.places.community_known(new.community_code):
        raise RuleViolation(
            "community_known",
            f"community {new.community_code} is unknown here: org-graph has not published it (yet)",
        )
    grid_id = await _locate(ctx, new, strict)
    now = ctx.now()
    request = ServiceRequest.receive(
        request_id=new.request_id or new_id("req"),
        community_code=new.community_code,
        channel=new.channel,
        kind=new.kind,
        category=new.category,
        urgency=new.urgency,
        summary=new.summary,
        now=now,
        sla=ctx.sla,
        actor=actor,
        grid_id=grid_id,
        building_code=new.building_code,
        household=new.household,
        resident_person_id=new.resident_person_id,
        external_ref=new.external_ref,
        intake_grid_id=new.grid_id,
        address=new.address,
        received_at=to_millis(new.received_at) if new.received_at is not None else None,
    )
    if grid_id is not None:
        request.dispatch(Tier.GRID, await grid_assignees(ctx, grid_id), Actor(None), now)
    else:
        request.dispatch(
            Tier.COMMUNITY, [tier_office(Tier.COMMUNITY, new.community_code, new.category)], Actor(None), now
        )
    try:
        await ctx.uow.add(request, cause)
    except Conflict:
        repeated = await _recorded_before(ctx, new)  # the same call, made twice at once
        if repeated is None:
            raise
        return repeated
    return Received(request, created=True)


# -- authorisation on the object ---------------------------------------------------------------------


def can_supervise(principal: Principal, request: ServiceRequest) -> bool:
    return principal.can_manage(request.community_code)


def ensure_can_read(principal: Principal, request: ServiceRequest) -> None:
    if can_supervise(principal, request):
        return
    if principal.person_id and (
        principal.person_id == request.resident_person_id or request.assignee_held_by(principal.person_id)
    ):
        return
    raise PermissionDenied(f"{principal.subject} may not see request {request.request_id}")


def ensure_supervisor(principal: Principal, request: ServiceRequest) -> None:
    if not can_supervise(principal, request):
        raise PermissionDenied(f"{principal.subject} may not act on {request.community_code}")


def ensure_handler(principal: Principal, request: ServiceRequest) -> str | None:
    """Coordinators of the region act on any request there; a member only on one assigned to them.

    Returns the assignee id the member holds (None for a coordinator)."""
    if can_supervise(principal, request):
        return None
    if Role.MEMBER in principal.roles:
        held = request.assignee_held_by(principal.person_id)
        if held is not None:
            return held
    raise PermissionDenied(
        f"{principal.subject} is neither a coordinator of {request.community_code} nor an assignee of "
        f"{request.request_id}"
    )


# -- changing a request ------------------------------------------------------------------------------


def _at_version(request: ServiceRequest, expected_version: int | None) -> None:
    """The caller's ``If-Match``: a change made from a stale read is refused."""
    if expected_version is not None and expected_version != request.version:
        raise Conflict(
            f"request {request.request_id} is at version {request.version}, not {expected_version}; "
            "reload it",
            expected_version=expected_version,
            current_version=request.version,
        )


async def _store(ctx: Context, request: ServiceRequest) -> View:
    """Stored only if nobody changed it since it was read (else a 409: reload and decide again)."""
    await ctx.uow.save(request)
    return {**await ctx.views.request(request.request_id), "allowed_actions": request.allowed_actions()}


async def _assignee(ctx: Context, request: ServiceRequest, assignee_id: str) -> Assignee:
    """A resource named as assignee must serve the request's community (else 422, nothing changes);
    other ids are the tiers' offices and desks, which no person holds."""
    resource = await ctx.uow.resources.find(assignee_id)
    if resource is None:
        return Assignee(assignee_id)
    ensure_serves_community(
        "assignee_serves_community", assignee_id, resource.community_code, request.community_code
    )
    return Assignee(assignee_id, resource.person_id)


async def dispatch(
    ctx: Context, request_id: str, principal: Principal, assignee_ids: list[str], version: int | None
) -> View:
    request = await ctx.uow.requests.get(request_id)
    ensure_supervisor(principal, request)
    _at_version(request, version)
    assignees = [await _assignee(ctx, request, a) for a in assignee_ids]
    request.dispatch(request.tier or Tier.GRID, assignees, actor_of(principal), ctx.now())
    return await _store(ctx, request)


async def escalate(
    ctx: Context,
    request_id: str,
    principal: Principal,
    reason: EscalationReason,
    note: str | None,
    assignee_ids: list[str] | None,
    version: int | None,
) -> View:
    if reason is EscalationReason.DEADLINE_PASSED:
        raise InvalidInput("deadline escalations are made by the SLA clock, not by hand")
    request = await ctx.uow.requests.get(request_id)
    ensure_handler(principal, request)
    _at_version(request, version)
    assignees = [await _assignee(ctx, request, a) for a in assignee_ids] if assignee_ids else None
    request.escalate(reason, assignees, actor_of(principal), ctx.now(), ctx.sla, note)
    return await _store(ctx, request)


async def accept(
    ctx: Context, request_id: str, principal: Principal, assignee_id: str | None, version: int | None
) -> View:
    request = await ctx.uow.requests.get(request_id)
    held = ensure_handler(principal, request)
    _at_version(request, version)
    who = held or assignee_id or (request.assignees[0].assignee_id if request.assignees else None)
    if who is None:
        raise InvalidInput("name the assignee who accepts")
    request.accept(who, actor_of(principal), ctx.now())
    return await _store(ctx, request)


async def progress(
    ctx: Context, request_id: str, principal: Principal, note: str, version: int | None
) -> View:
    request = await ctx.uow.requests.get(request_id)
    ensure_handler(principal, request)
    _at_version(request, version)
    request.progress(note, actor_of(principal), ctx.now())
    return await _store(ctx, request)


async def resolve(
    ctx: Context, request_id: str, principal: Principal, result: str, version: int | None
) -> View:
    """Resolve it; the people who handled it earn their points (after the request's own write)."""
    request = await ctx.uow.requests.get(request_id)
    ensure_handler(principal, request)
    _at_version(request, version)
    request.resolve(result, actor_of(principal), ctx.now())
    view = await _store(ctx, request)
    await points.award_for_request(ctx, request)
    return view


async def evaluate(
    ctx: Context, request_id: str, principal: Principal, rating: int, comment: str | None, version: int | None
) -> View:
    """The resident's evaluation closes it as resolved; the awards of this resolution are made again
    (a no-op, unless the process died between the resolution and its awards)."""
    actor = actor_of(principal)
    request = await ctx.uow.requests.get(request_id)
    request.ensure_resident(actor)
    _at_version(request, version)
    request.evaluate(rating, comment, actor, ctx.now())
    view = await _store(ctx, request)
    await points.award_for_request(ctx, request)
    return view


async def reopen(
    ctx: Context, request_id: str, principal: Principal, reason: str, version: int | None
) -> View:
    actor = actor_of(principal)
    request = await ctx.uow.requests.get(request_id)
    if not can_supervise(principal, request):
        request.ensure_resident(actor)
    _at_version(request, version)
    request.reopen(reason, actor, ctx.now(), ctx.sla)
    return await _store(ctx, request)


async def close(
    ctx: Context,
    request_id: str,
    principal: Principal,
    outcome: Outcome,
    note: str | None,
    version: int | None,
) -> View:
    request = await ctx.uow.requests.get(request_id)
    ensure_supervisor(principal, request)
    _at_version(request, version)
    request.close(outcome, note, actor_of(principal), ctx.now())
    return await _store(ctx, request)


async def move(
    ctx: Context,
    request_id: str,
    principal: Principal,
    grid_id: str,
    note: str | None,
    version: int | None,
) -> View:
    """A request located in the wrong grid goes to another grid of its community, to that grid's team."""
    request = await ctx.uow.requests.get(request_id)
    ensure_supervisor(principal, request)
    grid = await ctx.places.grid(grid_id)
    if grid is None:
        raise RuleViolation(
            "grid_known", f"grid {grid_id} is unknown here: org-graph has not published it (yet)"
        )
    if grid.community_code != request.community_code:
        raise RuleViolation(
            "grid_in_community",
            f"grid {grid_id} is not in community {request.community_code}: a request moves only "
            "between the grids of its community",
        )
    _at_version(request, version)
    assignees = await grid_assignees(ctx, grid_id)
    request.move(grid_id, assignees, actor_of(principal), ctx.now(), ctx.sla, note)
    return await _store(ctx, request)


async def read(ctx: Context, request_id: str, principal: Principal) -> View:
    request = await ctx.uow.requests.get(request_id)
    ensure_can_read(principal, request)
    return {**await ctx.views.request(request_id), "allowed_actions": request.allowed_actions()}


async def search(
    ctx: Context,
    principal: Principal,
    community_code: str | None,
    status: str | None,
    grid_id: str | None,
    limit: int,
) -> list[View]:
    """A community's requests (coordinators of it), or with a member token and no code the member's own."""
    if community_code is not None:
        principal.ensure_can_manage(community_code)
        query = RequestQuery(community_code=community_code, grid_id=grid_id, status=status)
    elif Role.MEMBER in principal.roles and principal.person_id:
        query = RequestQuery(resident_person_id=principal.person_id, grid_id=grid_id, status=status)
    else:
        raise PermissionDenied("give community_code (coordinators) or use a member token")
    return await ctx.views.requests(query, limit)
