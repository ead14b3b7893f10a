"""HTTP routes for resources, grids, teams, the three lists and points."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from civicgrid_contracts.values import CommunityCode, GridId, Identifier
from civicgrid_resources.domain.deployment import OfferKind, ReportInBasis, ResourceKind, TimeSlot
from civicgrid_resources.entrypoints.schemas import (
    BalanceOut,
    GridOut,
    NeedClaimOut,
    NeedOut,
    OfferMatchOut,
    OfferOut,
    PersonGridOut,
    PointsEntryOut,
    RankingOut,
    ResourceOut,
    ServiceReportOut,
    TeamOut,
)
from civicgrid_resources.entrypoints.versions import IF_MATCH, expected_version
from civicgrid_resources.service_layer import deployment, needs, points, teams
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.http import Authenticator
from civicgrid_runtime.http.text import Name, Text


class SlotIn(BaseModel):
    weekday: int = Field(ge=1, le=7, description="1 = Monday … 7 = Sunday")
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ReportInIn(BaseModel):
    community_code: CommunityCode
    kind: ResourceKind
    display_name: Name
    basis: ReportInBasis = ReportInBasis.PAIRED
    person_id: Identifier | None = None
    unit_id: Identifier | None = Field(default=None, description="The unit, or the person's employer unit.")
    employer: Name | None = None
    skills: list[Name] = Field(default_factory=list, max_length=50)
    availability: list[SlotIn] = Field(default_factory=list, max_length=50)
    contact_preference: Name | None = Field(default=None, description="e.g. app, sms, phone call.")
    resource_id: Identifier | None = Field(default=None, description="Give one to make the call idempotent.")


class JoinGridIn(BaseModel):
    grid_id: GridId
    role: Name = Field(description="e.g. grid_worker, linked_leader, police, volunteer.")
    period_start: date
    period_end: date | None = None


class LeaveGridIn(BaseModel):
    period_end: date
    reason: Text | None = None


class TeamIn(BaseModel):
    grid_id: GridId
    name: Name
    leader_resource_id: Identifier | None = None
    purpose: Text | None = None


class TeamMemberIn(BaseModel):
    resource_id: Identifier
    role: Name | None = None


class NeedIn(BaseModel):
    community_code: CommunityCode
    title: Name
    description: Text | None = None
    tags: list[Name] = Field(default_factory=list, max_length=20)
    slots: int = Field(default=1, ge=1, le=10_000)
    need_id: Identifier | None = None


class ClaimIn(BaseModel):
    resource_id: Identifier | None = None
    team_id: Identifier | None = None


class CompleteIn(BaseModel):
    hours: float = Field(gt=0, le=24)


class OfferChangeIn(BaseModel):
    title: Name | None = None
    description: Text | None = None
    tags: list[Name] | None = Field(default=None, max_length=20)


class WithdrawIn(BaseModel):
    reason: Text | None = None


class RedeemIn(BaseModel):
    points: int = Field(ge=1, le=100_000)
    item: Name = Field(description="What the points are exchanged for.")
    redemption_id: Identifier | None = Field(
        default=None, description="Give one to make the call idempotent."
    )


class OfferIn(BaseModel):
    resource_id: Identifier = Field(description="The unit (a resource) that offers it.")
    kind: OfferKind
    title: Name
    description: Text | None = None
    tags: list[Name] = Field(default_factory=list, max_length=20)
    offer_id: Identifier | None = None


def build_router(ctx: Context, auth: Authenticator) -> APIRouter:
    router = APIRouter()
    staff = auth.require(Role.ADMIN, Role.COORDINATOR)
    anyone = auth.principal

    @router.post(
        "/resources",
        status_code=201,
        response_model=ResourceOut,
        tags=["resources"],
        summary="Report in (报到)",
    )
    async def report_in(body: ReportInIn, principal: Principal = Depends(anyone)) -> View:
        new = deployment.ReportIn(
            community_code=body.community_code,
            kind=body.kind,
            display_name=body.display_name,
            basis=body.basis,
            person_id=body.person_id,
            unit_id=body.unit_id,
            employer=body.employer,
            skills=list(body.skills),
            availability=[TimeSlot(s.weekday, s.start, s.end) for s in body.availability],
            contact_preference=body.contact_preference,
            resource_id=body.resource_id,
        )
        return await deployment.report_in(ctx, principal, new)

    @router.get(
        "/resources",
        response_model=list[ResourceOut],
        tags=["resources"],
        summary="Resources of a community (optionally of a grid)",
    )
    async def search(
        community_code: CommunityCode,
        kind: ResourceKind | None = None,
        grid_id: GridId | None = None,
        principal: Principal = Depends(staff),
    ) -> list[View]:
        return await deployment.search(ctx, principal, community_code, kind.value if kind else None, grid_id)

    @router.get("/resources/{resource_id}", response_model=ResourceOut, tags=["resources"])
    async def get(resource_id: Identifier, principal: Principal = Depends(anyone)) -> View:
        return await deployment.read(ctx, principal, resource_id)

    @router.post(
        "/resources/{resource_id}/confirm",
        response_model=ResourceOut,
        tags=["resources"],
        summary="The community confirms",
    )
    async def confirm(resource_id: Identifier, principal: Principal = Depends(staff)) -> View:
        return await deployment.confirm(ctx, principal, resource_id)

    @router.post(
        "/resources/{resource_id}/grids",
        response_model=ResourceOut,
        tags=["grids"],
        summary="Join a grid (进群入格)",
    )
    async def join(resource_id: Identifier, body: JoinGridIn, principal: Principal = Depends(staff)) -> View:
        return await deployment.join_grid(
            ctx, principal, resource_id, body.grid_id, body.role, body.period_start, body.period_end
        )

    @router.post(
        "/resources/{resource_id}/grids/{grid_id}/leave",
        response_model=ResourceOut,
        tags=["grids"],
        summary="Leave a grid",
    )
    async def leave(
        resource_id: Identifier, grid_id: GridId, body: LeaveGridIn, principal: Principal = Depends(staff)
    ) -> View:
        return await deployment.leave_grid(ctx, principal, resource_id, grid_id, body.period_end, body.reason)

    @router.get(
        "/people/{person_id}/grids",
        response_model=list[PersonGridOut],
        tags=["grids"],
        summary="A person's grids",
    )
    async def person_grids(person_id: Identifier, principal: Principal = Depends(anyone)) -> list[View]:
        return await deployment.person_grids(ctx, principal, person_id)

    @router.get(
        "/communities/{community_code}/grids",
        response_model=list[GridOut],
        tags=["grids"],
        summary="The community's grids as known from org-graph's events (the local projection)",
    )
    async def community_grids(
        community_code: CommunityCode, principal: Principal = Depends(staff)
    ) -> list[View]:
        principal.ensure_can_manage(community_code)
        grids = await ctx.places.grids_of(community_code)
        return [
            {"grid_id": g.grid_id, "name": g.name, "building_codes": list(g.building_codes)} for g in grids
        ]

    @router.get(
        "/grids/{grid_id}/team", response_model=TeamOut, tags=["teams"], summary="A grid's service team"
    )
    async def grid_team(grid_id: GridId, principal: Principal = Depends(staff)) -> View:
        return await teams.grid_team(ctx, principal, grid_id)

    @router.post(
        "/teams",
        status_code=201,
        response_model=TeamOut,
        tags=["teams"],
        summary="Form a grid's team (组团式服务)",
    )
    async def form_team(body: TeamIn, principal: Principal = Depends(staff)) -> View:
        return await teams.form_team(
            ctx, principal, body.grid_id, body.name, body.leader_resource_id, body.purpose
        )

    @router.post(
        "/teams/{team_id}/members",
        response_model=TeamOut,
        tags=["teams"],
        summary="Add a resource of the grid to its team",
    )
    async def add_member(
        team_id: Identifier, body: TeamMemberIn, principal: Principal = Depends(staff)
    ) -> View:
        return await teams.add_member(ctx, principal, team_id, body.resource_id, body.role)

    @router.post(
        "/needs",
        status_code=201,
        response_model=NeedOut,
        tags=["three lists"],
        summary="Put a need on the needs list",
    )
    async def publish_need(body: NeedIn, principal: Principal = Depends(staff)) -> View:
        return await needs.publish_need(
            ctx,
            principal,
            body.community_code,
            body.title,
            body.description,
            list(body.tags),
            body.slots,
            body.need_id,
        )

    @router.get(
        "/needs",
        response_model=list[NeedOut],
        tags=["three lists"],
        summary="A community's needs list, or (list=projects) its projects list",
        description="list=projects: projects agreed in deliberation (an adopted resolution), each "
        "claimed by a team or resource to lead it through POST /needs/{need_id}/claims.",
    )
    async def list_needs(
        community_code: CommunityCode,
        which: Literal["needs", "projects"] = Query(default="needs", alias="list"),
        principal: Principal = Depends(staff),
    ) -> list[View]:
        return await needs.list_needs(ctx, principal, community_code, which == "projects")

    @router.post(
        "/needs/{need_id}/claims",
        status_code=201,
        response_model=NeedClaimOut,
        tags=["three lists"],
        summary="Claim a slot (atomic)",
    )
    async def claim(need_id: Identifier, body: ClaimIn, principal: Principal = Depends(anyone)) -> View:
        return await needs.claim(ctx, principal, need_id, body.resource_id, body.team_id)

    @router.post(
        "/needs/{need_id}/claims/{claim_id}/complete",
        response_model=NeedOut,
        tags=["points"],
        summary="Task done: points",
    )
    async def complete(
        need_id: Identifier, claim_id: Identifier, body: CompleteIn, principal: Principal = Depends(staff)
    ) -> View:
        return await needs.complete_claim(ctx, principal, need_id, claim_id, body.hours)

    @router.get(
        "/needs/{need_id}/matches",
        response_model=list[OfferMatchOut],
        tags=["three lists"],
        summary="Offers matching a need",
    )
    async def matches(need_id: Identifier, principal: Principal = Depends(staff)) -> list[View]:
        return await needs.matches(ctx, principal, need_id)

    @router.post(
        "/offers",
        status_code=201,
        response_model=OfferOut,
        tags=["three lists"],
        summary="A unit's resource or project",
    )
    async def offer(body: OfferIn, principal: Principal = Depends(staff)) -> View:
        return await needs.offer(
            ctx,
            principal,
            body.resource_id,
            body.kind,
            body.title,
            body.description,
            list(body.tags),
            body.offer_id,
        )

    @router.get(
        "/offers/{offer_id}",
        response_model=OfferOut,
        tags=["three lists"],
        summary="An offer of a unit's lists",
    )
    async def read_offer(offer_id: Identifier, principal: Principal = Depends(staff)) -> View:
        return await needs.read_offer(ctx, principal, offer_id)

    @router.patch(
        "/offers/{offer_id}",
        response_model=OfferOut,
        tags=["three lists"],
        summary="Change an offer's title, text or tags",
    )
    async def update_offer(
        offer_id: Identifier,
        body: OfferChangeIn,
        principal: Principal = Depends(staff),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await needs.update_offer(
            ctx,
            principal,
            offer_id,
            body.title,
            body.description,
            list(body.tags) if body.tags is not None else None,
            expected_version(if_match),
        )

    @router.post(
        "/offers/{offer_id}/withdraw",
        response_model=OfferOut,
        tags=["three lists"],
        summary="Withdraw an offer",
    )
    async def withdraw_offer(
        offer_id: Identifier,
        body: WithdrawIn,
        principal: Principal = Depends(staff),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await needs.withdraw_offer(ctx, principal, offer_id, body.reason, expected_version(if_match))

    @router.get(
        "/points/ranking",
        response_model=RankingOut,
        tags=["points"],
        summary="Points ranking of a community or a grid",
    )
    async def ranking(
        community_code: CommunityCode | None = None,
        grid_id: GridId | None = None,
        limit: int = Query(default=20, ge=1, le=500),
        principal: Principal = Depends(staff),
    ) -> View:
        return await points.ranking(ctx, principal, community_code, grid_id, limit)

    @router.post(
        "/points/{resource_id}/redeem",
        status_code=201,
        response_model=PointsEntryOut,
        tags=["points"],
        summary="Redeem points (积分兑换): 409 beyond the balance",
    )
    async def redeem(resource_id: Identifier, body: RedeemIn, principal: Principal = Depends(staff)) -> View:
        return await points.redeem(ctx, principal, resource_id, body.points, body.item, body.redemption_id)

    @router.get(
        "/points/{resource_id}",
        response_model=BalanceOut,
        tags=["points"],
        summary="Balance and ledger of a resource",
    )
    async def balance(resource_id: Identifier, principal: Principal = Depends(anyone)) -> View:
        return await points.balance(ctx, principal, resource_id)

    @router.get(
        "/service-reports",
        response_model=ServiceReportOut,
        tags=["resources"],
        summary="Record of service for the employer",
    )
    async def service_report(
        resource_id: Identifier | None = None,
        unit_id: Identifier | None = None,
        days: int = Query(default=90, ge=1, le=366),
        principal: Principal = Depends(staff),
    ) -> View:
        until = datetime.now(UTC)
        return await points.service_report(
            ctx,
            principal,
            resource_id=resource_id,
            unit_id=unit_id,
            since=until - timedelta(days=days),
            until=until,
        )

    return router
