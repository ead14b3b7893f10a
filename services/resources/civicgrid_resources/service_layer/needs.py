"""The three lists (三个清单): needs from communities, resources and projects offered by units.

Claiming takes turns on the need: a slot is taken only while one is left, and only once per
claimant — two units racing for the last slot get one success and one 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from civicgrid_contracts.events.deliberation import ResolutionAdopted
from civicgrid_resources.domain.deployment import (
    Offer,
    OfferKind,
    OfferStatus,
    ensure_serves_community,
    match_score,
)
from civicgrid_resources.domain.needs import Need, NeedClaim
from civicgrid_resources.service_layer import points
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_resources.service_layer.ports import Cause, View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound, PermissionDenied


async def publish_need(
    ctx: Context,
    principal: Principal,
    community_code: str,
    title: str,
    description: str | None,
    tags: list[str],
    slots: int,
    need_id: str | None,
) -> View:
    principal.ensure_can_manage(community_code)
    need = Need.publish(need_id or new_id("need"), community_code, title, description, tags, slots, ctx.now())
    await ctx.uow.add(need)
    return await ctx.views.need(need.need_id)


def project_id_for(resolution_id: str) -> str:
    rid = resolution_id
    return f"project-{rid}" if len(rid) <= 56 else f"project-{hashlib.sha256(rid.encode()).hexdigest()[:40]}"


async def take_resolution(ctx: Context, resolution: ResolutionAdopted, cause: Cause) -> None:
    """A resolution adopted in deliberation (领办议定的民生实事) becomes a project on its community's
    projects list (``project-<resolution id>``, linked by ``resolution_id``), for a team or a resource
    to claim and lead. Idempotent: the project's id is derived from the resolution's (a resolution
    taken before the projects list, as ``need-<id>``, is not taken again)."""
    rid = resolution.resolution_id
    need_id = project_id_for(rid)
    if await ctx.uow.needs.find(need_id) is not None:
        return
    if len(rid) <= 59 and await ctx.uow.needs.find(f"need-{rid}") is not None:
        return
    decided_by = " ".join(
        f"{label} {value}"
        for label, value in (
            ("meeting", resolution.meeting_id),
            ("vote", resolution.vote_id),
            ("topic", resolution.topic_id),
            ("request", resolution.request_id),
            ("need", resolution.need_id),
        )
        if value
    )
    where = f"resolution {resolution.resolution_id}; {decided_by}; {resolution.place_code}"
    description = f"{resolution.summary[:7000]}\n({where})"
    need = Need.publish(
        need_id,
        resolution.community_code,
        resolution.title,
        description.strip(),
        ["resolution", "project"],
        1,
        ctx.now(),
        resolution_id=rid,
    )
    try:
        await ctx.uow.add(need, cause)
    except Conflict:
        return  # taken meanwhile by a redelivery of the same event


async def _may_see(ctx: Context, principal: Principal, need: Need) -> bool:
    """Coordinators of the need's community, and members who reported in to that community."""
    if principal.can_manage(need.community_code):
        return True
    if Role.MEMBER not in principal.roles or not principal.person_id:
        return False
    mine = await ctx.uow.resources.of_person(principal.person_id)
    return any(r.community_code == need.community_code for r in mine)


async def _ensure_may_claim_for(
    ctx: Context, principal: Principal, need: Need, resource_id: str | None, team_id: str | None
) -> None:
    """Both sides of the claim: the caller may act for the claimant, and the claimant serves the
    need's community."""
    if (resource_id is None) == (team_id is None):
        raise InvalidInput("a need is claimed by a resource or by a team: give exactly one of them")
    if resource_id is not None:
        resource = await ctx.uow.resources.get(resource_id)
        if not principal.can_manage(resource.community_code) and not (
            resource.person_id and principal.is_person(resource.person_id)
        ):
            raise PermissionDenied(f"{principal.subject} may not claim for {resource_id}")
        community = resource.community_code
    else:
        assert team_id is not None
        team = await ctx.uow.teams.get(team_id)
        principal.ensure_can_manage(team.grid_id)
        community = team.community_code
    claimant = resource_id if resource_id is not None else team_id
    ensure_serves_community("claimant_in_community", str(claimant), community, need.community_code)


def claim_view(need: Need, claim: NeedClaim) -> View:
    return {
        "need_id": need.need_id,
        "claim_id": claim.claim_id,
        "title": need.title,
        "community_code": need.community_code,
        "resource_id": claim.resource_id,
        "team_id": claim.team_id,
        "claimed_at": claim.claimed_at,
        "slots": need.slots,
        "remaining": need.remaining,
    }


async def claim(
    ctx: Context, principal: Principal, need_id: str, resource_id: str | None, team_id: str | None
) -> View:
    need = await ctx.uow.needs.find(need_id)
    if need is None or not await _may_see(ctx, principal, need):
        raise NotFound(f"no need {need_id!r}")  # the same answer whether it exists elsewhere or not
    await _ensure_may_claim_for(ctx, principal, need, resource_id, team_id)
    claim_id, now = new_id("claim"), ctx.now()
    claimed, taken = await ctx.uow.change(
        Need, need_id, lambda n: n.claim(claim_id, resource_id, team_id, now)
    )
    return claim_view(claimed, taken)


async def complete_claim(
    ctx: Context, principal: Principal, need_id: str, claim_id: str, hours: float
) -> View:
    """The community confirms the task done: points go to the ledger, then the claim is marked.

    The award id is derived from the claim, so a retry after a crash between the two writes awards
    nothing twice and finishes the marking."""
    need = await ctx.uow.needs.get(need_id)
    principal.ensure_can_manage(need.community_code)
    entry = need.find_claim(claim_id)
    if entry.resource_id is None:
        raise InvalidInput("a team's claim is completed by awarding its members; name a resource's claim")
    await points.award(
        ctx,
        award_id=f"{need_id}.{claim_id}"[:64],
        resource_id=entry.resource_id,
        hours=hours,
        reason=f"need: {need.title}",
        reference_id=need_id,
    )
    now = ctx.now()
    await ctx.uow.change(Need, need_id, lambda n: n.complete(claim_id, hours, now))
    return await ctx.views.need(need_id)


async def list_needs(
    ctx: Context, principal: Principal, community_code: str, projects: bool = False
) -> list[View]:
    principal.ensure_can_manage(community_code)
    return await ctx.views.needs(community_code, projects)


async def offer(
    ctx: Context,
    principal: Principal,
    resource_id: str,
    kind: OfferKind,
    title: str,
    description: str | None,
    tags: list[str],
    offer_id: str | None,
) -> View:
    """A unit puts an item on its resources or projects list (``offer.published``)."""
    resource = await ctx.uow.resources.get(resource_id)
    principal.ensure_can_manage(resource.community_code)
    item = Offer.publish(
        offer_id=offer_id or new_id("offer"),
        resource_id=resource_id,
        unit_id=resource.unit_id,
        community_code=resource.community_code,
        kind=kind,
        title=title,
        description=description,
        tags=list(tags),
        offered_at=ctx.now(),
    )
    await ctx.uow.add(item)
    return await ctx.views.offer(item.offer_id)


async def read_offer(ctx: Context, principal: Principal, offer_id: str) -> View:
    item = await ctx.uow.offers.get(offer_id)
    principal.ensure_can_manage(item.community_code)
    return await ctx.views.offer(offer_id)


async def _change_offer(
    ctx: Context,
    principal: Principal,
    offer_id: str,
    apply: Callable[[Offer], object],
    expected_version: int | None,
) -> View:
    """One write of the offer (with its events), at the version it was read; nothing if nothing changed."""
    item = await ctx.uow.offers.get(offer_id)
    principal.ensure_can_manage(item.community_code)
    if expected_version is not None and expected_version != item.version:
        raise Conflict(
            f"offer {offer_id} is at version {item.version}, not {expected_version}; reload it",
            expected_version=expected_version,
            current_version=item.version,
        )
    apply(item)
    if item.events:
        await ctx.uow.save(item)
    return await ctx.views.offer(offer_id)


async def update_offer(
    ctx: Context,
    principal: Principal,
    offer_id: str,
    title: str | None,
    description: str | None,
    tags: list[str] | None,
    expected_version: int | None,
) -> View:
    """Change an offer's title, description or tags (``offer.updated``; nothing if nothing changes)."""
    return await _change_offer(
        ctx, principal, offer_id, lambda o: o.update(title, description, tags), expected_version
    )


async def withdraw_offer(
    ctx: Context, principal: Principal, offer_id: str, reason: str | None, expected_version: int | None
) -> View:
    """The unit withdraws an offer (``offer.withdrawn``): it is no longer matched to needs."""
    now = ctx.now()
    return await _change_offer(ctx, principal, offer_id, lambda o: o.withdraw(reason, now), expected_version)


async def matches(ctx: Context, principal: Principal, need_id: str) -> list[View]:
    """Offers of the need's community and street, best tag overlap first."""
    need = await ctx.uow.needs.get(need_id)
    principal.ensure_can_manage(need.community_code)
    scored = []
    for view in await ctx.views.offers_in_street(need.community_code[:9]):
        if view.get("status", OfferStatus.OFFERED.value) != OfferStatus.OFFERED.value:
            continue
        score = match_score(need.tags, view.get("tags", []))
        if score:
            scored.append({**view, "score": score})
    scored.sort(key=lambda d: (-d["score"], d["community_code"] != need.community_code, d["id"]))
    return scored
