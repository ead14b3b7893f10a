"""Use cases of the residents' request loop. Each one is a single document write (with its events)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_resources.adapters.documents import Document, public, request_fields, request_from
from civicgrid_resources.domain.deployment import team_id_for
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
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ids import new_id
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
    if building is None or not building.get("grid_id"):
        if strict:
            raise RuleViolation(
                "building_known",
                f"building {new.building_code} is unknown or in no grid: "
                "org-graph has not published it (yet)",
            )
        return None
    grid_id: str = building["grid_id"]
    if building.get("community_code") != new.community_code:
        raise RuleViolation(
            "building_in_community", f"building {new.building_code} is not in community {new.community_code}"
        )
    return grid_id


async def grid_assignees(ctx: Context, grid_id: str) -> list[Assignee]:
    """The grid's service team; the grid itself (its grid worker desk) when no team was formed yet."""
    team = await ctx.store.teams.find(team_id_for(grid_id))
    members = (team or {}).get("members", [])
    if members:
        return [Assignee(m["resource_id"], m.get("person_id")) for m in members]
    return [Assignee(f"grid-{grid_id}")]


async def receive(
    ctx: Context, new: NewRequest, actor: Actor, *, strict: bool = True, caused_by: CloudEvent | None = None
) -> ServiceRequest:
    """Record a request and dispatch it at once: to the grid's team, or to the community."""
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
    )
    if grid_id is not None:
        request.dispatch(Tier.GRID, await grid_assignees(ctx, grid_id), Actor(None), now)
    else:
        request.dispatch(
            Tier.COMMUNITY, [tier_office(Tier.COMMUNITY, new.community_code, new.category)], Actor(None), now
        )
    events = ctx.outbox.translate(request.take_events(), caused_by.id if caused_by else None)
    await ctx.store.requests.insert(request.request_id, request_fields(request), events)
    request.version = 1
    ctx.notify_relay()
    return request


# -- authorisation on the object ---------------------------------------------------------------------


def can_supervise(principal: Principal, request: ServiceRequest) -> bool:
    return principal.can_manage(request.community_code)


def ensure_can_read(principal: Principal, request: ServiceRequest) -> None:
    if can_supervise(principal, request):
        return
    if principal.person_id and (
        principal.person_id == request.resident_person_id or request.is_assignee_person(principal.person_id)
    ):
        return
    raise PermissionDenied(f"{principal.subject} may not see request {request.request_id}")


def ensure_handler(principal: Principal, request: ServiceRequest) -> str | None:
    """Coordinators of the region act on any request there; a member only on one assigned to them.

    Returns the assignee id the member holds (None for a coordinator)."""
    if can_supervise(principal, request):
        return None
    if Role.MEMBER in principal.roles:
        held = request.is_assignee_person(principal.person_id)
        if held is not None:
            return held
    raise PermissionDenied(
        f"{principal.subject} is neither a coordinator of {request.community_code} nor an assignee of "
        f"{request.request_id}"
    )


# -- changing a request ------------------------------------------------------------------------------

Change = Callable[[ServiceRequest], None]


async def load(ctx: Context, request_id: str) -> ServiceRequest:
    return request_from(await ctx.store.requests.get(request_id))


async def change(
    ctx: Context,
    request_id: str,
    principal: Principal,
    check: Callable[[ServiceRequest], None],
    apply: Change,
    expected_version: int | None = None,
) -> Document:
    request = await load(ctx, request_id)
    check(request)
    if expected_version is not None and expected_version != request.version:
        raise Conflict(
            f"request {request_id} is at version {request.version}, not {expected_version}; reload it",
            expected_version=expected_version,
            current_version=request.version,
        )
    apply(request)
    events = ctx.outbox.translate(request.take_events())
    await ctx.store.requests.save_or_conflict(request_id, request.version, request_fields(request), events)
    ctx.notify_relay()
    return public(await ctx.store.requests.get(request_id))


def _supervisor(principal: Principal) -> Callable[[ServiceRequest], None]:
    def check(request: ServiceRequest) -> None:
        if not can_supervise(principal, request):
            raise PermissionDenied(f"{principal.subject} may not act on {request.community_code}")

    return check


def _handler(principal: Principal) -> Callable[[ServiceRequest], None]:
    def check(request: ServiceRequest) -> None:
        ensure_handler(principal, request)

    return check


async def dispatch(
    ctx: Context, request_id: str, principal: Principal, assignee_ids: list[str], version: int | None
) -> Document:
    assignees = [await _assignee(ctx, a) for a in assignee_ids]

    def apply(request: ServiceRequest) -> None:
        request.dispatch(request.tier or Tier.GRID, assignees, actor_of(principal), ctx.now())

    return await change(ctx, request_id, principal, _supervisor(principal), apply, version)


async def _assignee(ctx: Context, assignee_id: str) -> Assignee:
    resource = await ctx.store.resources.find(assignee_id)
    return Assignee(assignee_id, resource.get("person_id") if resource else None)


async def escalate(
    ctx: Context,
    request_id: str,
    principal: Principal,
    reason: EscalationReason,
    note: str | None,
    assignee_ids: list[str] | None,
    version: int | None,
) -> Document:
    assignees = [await _assignee(ctx, a) for a in assignee_ids] if assignee_ids else None
    if reason is EscalationReason.DEADLINE_PASSED:
        raise InvalidInput("deadline escalations are made by the SLA clock, not by hand")

    check = _handler(principal)

    def apply(request: ServiceRequest) -> None:
        request.escalate(reason, assignees, actor_of(principal), ctx.now(), ctx.sla, note)

    return await change(ctx, request_id, principal, check, apply, version)


async def accept(
    ctx: Context, request_id: str, principal: Principal, assignee_id: str | None, version: int | None
) -> Document:
    holder: list[str | None] = []

    def check(request: ServiceRequest) -> None:
        holder.append(ensure_handler(principal, request))

    def apply(request: ServiceRequest) -> None:
        who = holder[0] or assignee_id or (request.assignees[0].assignee_id if request.assignees else None)
        if who is None:
            raise InvalidInput("name the assignee who accepts")
        request.accept(who, actor_of(principal), ctx.now())

    return await change(ctx, request_id, principal, check, apply, version)


async def progress(
    ctx: Context, request_id: str, principal: Principal, note: str, version: int | None
) -> Document:
    return await change(
        ctx,
        request_id,
        principal,
        _handler(principal),
        lambda r: r.progress(note, actor_of(principal), ctx.now()),
        version,
    )


async def resolve(
    ctx: Context, request_id: str, principal: Principal, result: str, version: int | None
) -> Document:
    """Resolve it; the people who handled it earn their points (after the request's own write)."""
    changed: list[ServiceRequest] = []

    def apply(request: ServiceRequest) -> None:
        request.resolve(result, actor_of(principal), ctx.now())
        changed.append(request)

    doc = await change(ctx, request_id, principal, _handler(principal), apply, version)
    await points.award_for_request(ctx, changed[0])
    return doc


async def evaluate(
    ctx: Context, request_id: str, principal: Principal, rating: int, comment: str | None, version: int | None
) -> Document:
    """The resident's evaluation closes it as resolved; the awards of this resolution are made again
    (a no-op, unless the process died between the resolution and its awards)."""
    actor = actor_of(principal)
    changed: list[ServiceRequest] = []

    def apply(request: ServiceRequest) -> None:
        request.evaluate(rating, comment, actor, ctx.now())
        changed.append(request)

    doc = await change(ctx, request_id, principal, lambda r: r.ensure_resident(actor), apply, version)
    await points.award_for_request(ctx, changed[0])
    return doc


async def reopen(
    ctx: Context, request_id: str, principal: Principal, reason: str, version: int | None
) -> Document:
    actor = actor_of(principal)

    def check(request: ServiceRequest) -> None:
        if not can_supervise(principal, request):
            request.ensure_resident(actor)

    return await change(
        ctx, request_id, principal, check, lambda r: r.reopen(reason, actor, ctx.now(), ctx.sla), version
    )


async def close(
    ctx: Context,
    request_id: str,
    principal: Principal,
    outcome: Outcome,
    note: str | None,
    version: int | None,
) -> Document:
    return await change(
        ctx,
        request_id,
        principal,
        _supervisor(principal),
        lambda r: r.close(outcome, note, actor_of(principal), ctx.now()),
        version,
    )


async def move(
    ctx: Context,
    request_id: str,
    principal: Principal,
    grid_id: str,
    note: str | None,
    version: int | None,
) -> Document:
    """A request located in the wrong grid goes to another grid of its community, to that grid's team."""
    grid = await ctx.places.grid(grid_id)
    if grid is None:
        raise RuleViolation(
            "grid_known", f"grid {grid_id} is unknown here: org-graph has not published it (yet)"
        )
    assignees = await grid_assignees(ctx, grid_id)
    supervisor = _supervisor(principal)

    def check(request: ServiceRequest) -> None:
        supervisor(request)
        if grid.get("community_code") != request.community_code:
            raise RuleViolation(
                "grid_in_community",
                f"grid {grid_id} is not in community {request.community_code}: a request moves only "
                "between the grids of its community",
            )

    def apply(request: ServiceRequest) -> None:
        request.move(grid_id, assignees, actor_of(principal), ctx.now(), ctx.sla, note)

    return await change(ctx, request_id, principal, check, apply, version)


async def read(ctx: Context, request_id: str, principal: Principal) -> Document:
    doc = await ctx.store.requests.get(request_id)
    request = request_from(doc)
    ensure_can_read(principal, request)
    return {**public(doc), "allowed_actions": request.allowed_actions()}
