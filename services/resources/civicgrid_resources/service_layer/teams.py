"""Team service (组团式服务): one team per grid, from grid worker, cadres, liaisons and volunteers."""

from __future__ import annotations

from typing import Any

from civicgrid_resources.adapters.documents import public, resource_from
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import team_id_for
from civicgrid_resources.service_layer.context import Context
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, NotFound, RuleViolation

Document = dict[str, Any]


async def form_team(
    ctx: Context, principal: Principal, grid_id: str, name: str, leader: str | None, purpose: str | None
) -> Document:
    principal.ensure_can_manage(grid_id)
    grid = await ctx.places.grid(grid_id)
    if grid is None:
        raise RuleViolation(
            "grid_known", f"grid {grid_id} is unknown here: org-graph has not published it (yet)"
        )
    community = grid_id[:12]
    team_id = team_id_for(grid_id)
    events = ctx.outbox.translate(
        [
            ev.TeamFormed(
                community_code=community,
                team_id=team_id,
                name=name,
                grid_id=grid_id,
                leader_resource_id=leader,
                purpose=purpose,
            )
        ]
    )
    fields: Document = {
        "grid_id": grid_id,
        "community_code": community,
        "name": name,
        "leader_resource_id": leader,
        "purpose": purpose,
        "formed_at": ctx.now(),
        "members": [],
        "member_ids": [],
    }
    try:
        await ctx.store.teams.insert(team_id, fields, events)
    except Conflict:
        raise Conflict(f"grid {grid_id} already has its team {team_id}") from None
    ctx.notify_relay()
    return public(await ctx.store.teams.get(team_id))


async def add_member(
    ctx: Context, principal: Principal, team_id: str, resource_id: str, role: str | None
) -> Document:
    team = await ctx.store.teams.get(team_id)
    principal.ensure_can_manage(team["grid_id"])
    resource = resource_from(await ctx.store.resources.get(resource_id))
    post = resource.in_grid(team["grid_id"], ctx.now().date())
    if post is None:
        raise RuleViolation(
            "member_in_grid", f"{resource_id} has not joined grid {team['grid_id']}: join the grid first"
        )
    role_in_team = role or post.role
    member: Document = {
        "resource_id": resource_id,
        "person_id": resource.person_id,
        "unit_id": resource.unit_id,
        "display_name": resource.display_name,
        "kind": resource.kind.value,
        "role": role_in_team,
        "added_at": ctx.now(),
    }
    events = ctx.outbox.translate(
        [
            ev.TeamMemberAdded(
                community_code=team["community_code"],
                team_id=team_id,
                resource_id=resource_id,
                role=role_in_team,
            )
        ]
    )
    added = await ctx.store.teams.update(
        team_id,
        lambda current: resource_id not in current.get("member_ids", []),
        {"$push": {"members": member, "member_ids": resource_id}},
        events,
    )
    if not added:
        raise Conflict(f"{resource_id} is already in team {team_id}")
    ctx.notify_relay()
    return public(await ctx.store.teams.get(team_id))


async def grid_team(ctx: Context, principal: Principal, grid_id: str) -> Document:
    if not principal.can_manage(grid_id):
        principal.ensure_can_manage(grid_id)
    team = await ctx.store.teams.find(team_id_for(grid_id))
    if team is None:
        raise NotFound(f"grid {grid_id} has no team yet")
    return public(team)
