"""The three lists (三个清单): needs from communities, resources and projects offered by units.

Claiming is one conditional update on the need document: a slot is taken only while one is left,
and only once per claimant — two units racing for the last slot get one success and one 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from civicgrid_resources.adapters.documents import offer_fields, offer_from, public
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import (
    Offer,
    OfferKind,
    OfferStatus,
    match_score,
    need_claim_rules,
)
from civicgrid_resources.service_layer import points
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound, PermissionDenied

Document = dict[str, Any]


async def publish_need(
    ctx: Context,
    principal: Principal,
    community_code: str,
    title: str,
    description: str | None,
    tags: list[str],
    slots: int,
    need_id: str | None,
) -> Document:
    principal.ensure_can_manage(community_code)
    need_claim_rules(slots)
    need_id = need_id or new_id("need")
    events = ctx.outbox.translate(
        [
            ev.NeedPublished(
                community_code=community_code,
                need_id=need_id,
                title=title,
                description=description,
                tags=list(tags),
                slots=slots,
            )
        ]
    )
    fields = {
        "community_code": community_code,
        "title": title,
        "description": description,
        "tags": tags,
        "slots": slots,
        "remaining": slots,
        "claimants": [],
        "claims": [],
        "published_at": ctx.now(),
    }
    await ctx.store.needs.insert(need_id, fields, events)
    ctx.notify_relay()
    return public(await ctx.store.needs.get(need_id))


async def _claimant(ctx: Context, principal: Principal, resource_id: str | None, team_id: str | None) -> str:
    if (resource_id is None) == (team_id is None):
        raise InvalidInput("a need is claimed by a resource or by a team: give exactly one of them")
    if resource_id is not None:
        resource = await ctx.store.resources.get(resource_id)
        person = resource.get("person_id")
        if not principal.can_manage(resource["community_code"]) and not (
            person and principal.is_person(person)
        ):
            raise PermissionDenied(f"{principal.subject} may not claim for {resource_id}")
        return resource_id
    assert team_id is not None
    team = await ctx.store.teams.get(team_id)
    principal.ensure_can_manage(team["grid_id"])
    return team_id


async def claim(
    ctx: Context, principal: Principal, need_id: str, resource_id: str | None, team_id: str | None
) -> Document:
    need = await ctx.store.needs.get(need_id)
    claimant = await _claimant(ctx, principal, resource_id, team_id)
    claim_id = new_id("claim")
    entry = {
        "claim_id": claim_id,
        "resource_id": resource_id,
        "team_id": team_id,
        "claimed_at": ctx.now(),
        "completed_at": None,
        "hours": None,
    }
    events = ctx.outbox.translate(
        [
            ev.NeedClaimed(
                community_code=need["community_code"],
                need_id=need_id,
                title=need["title"],
                resource_id=resource_id,
                team_id=team_id,
            )
        ]
    )
    taken = await ctx.store.needs.update(
        need_id,
        lambda current: current["remaining"] > 0 and claimant not in current.get("claimants", []),
        {"$inc": {"remaining": -1}, "$push": {"claims": entry, "claimants": claimant}},
        events,
    )
    if not taken:
        current = await ctx.store.needs.get(need_id)
        if claimant in current.get("claimants", []):
            raise Conflict(f"{claimant} has already claimed need {need_id}")
        raise Conflict(f"need {need_id} has no slot left: all {current['slots']} are claimed", remaining=0)
    ctx.notify_relay()
    return {**public(await ctx.store.needs.get(need_id)), "claim_id": claim_id}


async def complete_claim(
    ctx: Context, principal: Principal, need_id: str, claim_id: str, hours: float
) -> Document:
    """The community confirms the task done: points go to the ledger, then the claim is marked.

    The award id is derived from the claim, so a retry after a crash between the two writes awards
    nothing twice and finishes the marking."""
    need = await ctx.store.needs.get(need_id)
    principal.ensure_can_manage(need["community_code"])
    entry = next((c for c in need.get("claims", []) if c["claim_id"] == claim_id), None)
    if entry is None:
        raise NotFound(f"need {need_id} has no claim {claim_id}")
    if entry.get("resource_id") is None:
        raise InvalidInput("a team's claim is completed by awarding its members; name a resource's claim")
    await points.award(
        ctx,
        award_id=f"{need_id}.{claim_id}"[:64],
        resource_id=entry["resource_id"],
        hours=hours,
        reason=f"need: {need['title']}"[:200],
        reference_id=need_id,
    )
    claims = [
        {**c, "completed_at": c.get("completed_at") or ctx.now(), "hours": hours}
        if c["claim_id"] == claim_id
        else c
        for c in need["claims"]
    ]
    await ctx.store.needs.save(need_id, need["version"], {"claims": claims}, [])
    return public(await ctx.store.needs.get(need_id))


async def list_needs(ctx: Context, principal: Principal, community_code: str) -> list[Document]:
    principal.ensure_can_manage(community_code)
    cursor = ctx.store.needs.collection.find({"community_code": community_code}, {"outbox": 0}).sort("_id", 1)
    return [public(d) async for d in cursor]


async def offer(
    ctx: Context,
    principal: Principal,
    resource_id: str,
    kind: OfferKind,
    title: str,
    description: str | None,
    tags: list[str],
    offer_id: str | None,
) -> Document:
    """A unit puts an item on its resources or projects list (``offer.published``)."""
    resource = await ctx.store.resources.get(resource_id)
    principal.ensure_can_manage(resource["community_code"])
    item = Offer.publish(
        offer_id=offer_id or new_id("offer"),
        resource_id=resource_id,
        unit_id=resource.get("unit_id"),
        community_code=resource["community_code"],
        kind=kind,
        title=title,
        description=description,
        tags=list(tags),
        offered_at=ctx.now(),
    )
    events = ctx.outbox.translate(item.take_events())
    await ctx.store.offers.insert(item.offer_id, offer_fields(item), events)
    ctx.notify_relay()
    return public(await ctx.store.offers.get(item.offer_id))


async def read_offer(ctx: Context, principal: Principal, offer_id: str) -> Document:
    doc = await ctx.store.offers.get(offer_id)
    principal.ensure_can_manage(doc["community_code"])
    return public(doc)


async def _change_offer(
    ctx: Context,
    principal: Principal,
    offer_id: str,
    apply: Callable[[Offer], object],
    expected_version: int | None,
) -> Document:
    """One conditional write of the offer (with its events), at the version it was read."""
    item = offer_from(await ctx.store.offers.get(offer_id))
    principal.ensure_can_manage(item.community_code)
    if expected_version is not None and expected_version != item.version:
        raise Conflict(
            f"offer {offer_id} is at version {item.version}, not {expected_version}; reload it",
            expected_version=expected_version,
            current_version=item.version,
        )
    apply(item)
    events = ctx.outbox.translate(item.take_events())
    if events:
        # Offers stored before they had a version read as version 0.
        saved = await ctx.store.offers.update(
            offer_id,
            lambda current: int(current.get("version", 0)) == item.version,
            {"$set": offer_fields(item)},
            events,
        )
        if not saved:
            raise Conflict(f"offer {offer_id} was changed by someone else meanwhile; reload it and try again")
        ctx.notify_relay()
    return public(await ctx.store.offers.get(offer_id))


async def update_offer(
    ctx: Context,
    principal: Principal,
    offer_id: str,
    title: str | None,
    description: str | None,
    tags: list[str] | None,
    expected_version: int | None,
) -> Document:
    """Change an offer's title, description or tags (``offer.updated``; nothing if nothing changes)."""
    return await _change_offer(
        ctx, principal, offer_id, lambda o: o.update(title, description, tags), expected_version
    )


async def withdraw_offer(
    ctx: Context, principal: Principal, offer_id: str, reason: str | None, expected_version: int | None
) -> Document:
    """The unit withdraws an offer (``offer.withdrawn``): it is no longer matched to needs."""
    return await _change_offer(
        ctx, principal, offer_id, lambda o: o.withdraw(reason, ctx.now()), expected_version
    )


async def matches(ctx: Context, principal: Principal, need_id: str) -> list[Document]:
    """Offers of the need's community and street, best tag overlap first."""
    need = await ctx.store.needs.get(need_id)
    principal.ensure_can_manage(need["community_code"])
    street = need["community_code"][:9]
    cursor = ctx.store.offers.collection.find(
        {"community_code": {"$gte": street, "$lt": street + "z"}}, {"outbox": 0}
    )
    scored = []
    async for doc in cursor:
        if doc.get("status", OfferStatus.OFFERED.value) != OfferStatus.OFFERED.value:
            continue
        score = match_score(need.get("tags", []), doc.get("tags", []))
        if score:
            scored.append({**public(doc), "score": score})
    scored.sort(key=lambda d: (-d["score"], d["community_code"] != need["community_code"], d["id"]))
    return scored
