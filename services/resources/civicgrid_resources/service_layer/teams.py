"""Team service (组团式服务): one team per grid, from grid worker, cadres, liaisons and volunteers."""

from __future__ import annotations

from civicgrid_resources.domain.deployment import team_id_for
from civicgrid_resources.domain.teams import Team
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import View
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, NotFound, RuleViolation


async def form_team(
    ctx: Context, principal: Principal, grid_id: str, name: str, leader: str | None, purpose: str | None
) -> View:
    principal.ensure_can_manage(grid_id)
    if await ctx.places.grid(grid_id) is None:
        raise RuleViolation(
            "grid_known", f"grid {grid_id} is unknown here: org-graph has not published it (yet)"
        )
    team = Team.form(grid_id, name, leader, purpose, ctx.now())
    try:
        await ctx.uow.add(team)
    except Conflict:
        raise Conflict(f"grid {grid_id} already has its team {team.team_id}") from None
    return await _view(ctx, team.team_id)


async def add_member(
    ctx: Context, principal: Principal, team_id: str, resource_id: str, role: str | None
) -> View:
    """Members join one at a time (two coordinators adding two people at once both succeed)."""
    team = await ctx.uow.teams.get(team_id)
    principal.ensure_can_manage(team.grid_id)
    resource = await ctx.uow.resources.get(resource_id)
    now = ctx.now()
    await ctx.uow.change(Team, team_id, lambda current: current.add_member(resource, role, now))
    return await _view(ctx, team_id)


async def grid_team(ctx: Context, principal: Principal, grid_id: str) -> View:
    principal.ensure_can_manage(grid_id)
    return await _view(ctx, team_id_for(grid_id))


async def _view(ctx: Context, team_id: str) -> View:
    view = await ctx.views.team(team_id)
    if view is None:
        raise NotFound(f"grid {team_id.removeprefix('team-')} has no team yet")
    return view
