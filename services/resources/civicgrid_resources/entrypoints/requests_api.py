"""HTTP routes of the request loop: they only translate HTTP to use cases."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from civicgrid_contracts.events.common import RequestChannel, RequestKind
from civicgrid_contracts.values import CommunityCode, GridId, Identifier
from civicgrid_resources.domain.requests import EscalationReason, Outcome, Status, Urgency
from civicgrid_resources.entrypoints.schemas import (
    RatesOut,
    RebuildOut,
    RequestOut,
    RequestSummary,
)
from civicgrid_resources.entrypoints.versions import IF_MATCH, expected_version
from civicgrid_resources.service_layer import requests, supervision
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.http import Authenticator
from civicgrid_runtime.http.text import Name, Text


class RequestIn(BaseModel):
    community_code: CommunityCode
    channel: RequestChannel = RequestChannel.SERVICE_HALL
    kind: RequestKind
    category: Name
    urgency: Urgency = Urgency.ORDINARY
    summary: Text = Field(min_length=1)
    building_code: Identifier | None = None
    grid_id: GridId | None = None
    household: Name | None = Field(default=None, description="e.g. unit 2, room 301.")
    address: Text | None = Field(default=None, description="Where, in the resident's words.")
    resident_person_id: Identifier | None = Field(
        default=None, description="The resident's person id: they alone evaluate and reopen."
    )
    request_id: Identifier | None = Field(default=None, description="Give one to make the call idempotent.")


class DispatchIn(BaseModel):
    assignee_ids: list[Identifier] = Field(min_length=1)


class EscalateIn(BaseModel):
    reason: EscalationReason = EscalationReason.BEYOND_AUTHORITY
    note: Text | None = None
    assignee_ids: list[Identifier] | None = None


class AcceptIn(BaseModel):
    assignee_id: Identifier | None = None


class NoteIn(BaseModel):
    note: Text = Field(min_length=1)


class ResolveIn(BaseModel):
    result: Text = Field(min_length=1)


class EvaluateIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: Text | None = None


class ReopenIn(BaseModel):
    reason: Text = Field(min_length=1)


class MoveIn(BaseModel):
    grid_id: GridId = Field(description="Another grid of the request's community, known from org-graph.")
    note: Text | None = None


class CloseIn(BaseModel):
    outcome: Outcome
    note: Text | None = None


def build_router(ctx: Context, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/requests", tags=["requests"])
    staff = auth.require(Role.ADMIN, Role.COORDINATOR)
    anyone = auth.principal

    @router.post(
        "",
        status_code=201,
        response_model=RequestOut,
        summary="Record a resident's request (service hall, grid worker…)",
        description="201 when recorded; the same body again with the same `request_id` answers 200 with "
        "the request as it is now; the same `request_id` with other values is a 409 naming the fields.",
    )
    async def create(body: RequestIn, response: Response, principal: Principal = Depends(staff)) -> View:
        principal.ensure_can_manage(body.community_code)
        new = requests.NewRequest(
            community_code=body.community_code,
            channel=body.channel.value,
            kind=body.kind.value,
            category=body.category,
            urgency=body.urgency,
            summary=body.summary,
            building_code=body.building_code,
            grid_id=body.grid_id,
            household=body.household,
            resident_person_id=body.resident_person_id,
            request_id=body.request_id,
            address=body.address,
        )
        received = await requests.receive(ctx, new, requests.actor_of(principal))
        if not received.created:
            response.status_code = 200
        return await requests.read(ctx, received.request.request_id, principal)

    @router.get(
        "",
        response_model=list[RequestSummary],
        summary="Requests of a community (coordinators) or one's own (members)",
    )
    async def search(
        community_code: CommunityCode | None = None,
        status: Status | None = None,
        grid_id: GridId | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
        principal: Principal = Depends(anyone),
    ) -> list[View]:
        return await requests.search(
            ctx, principal, community_code, status.value if status else None, grid_id, limit
        )

    @router.get(
        "/{request_id}",
        response_model=RequestOut,
        summary="A request with its timeline and the actions allowed now",
    )
    async def get(request_id: Identifier, principal: Principal = Depends(anyone)) -> View:
        return await requests.read(ctx, request_id, principal)

    @router.post(
        "/{request_id}/dispatch",
        response_model=RequestOut,
        summary="Dispatch (or re-dispatch) to people of the team",
    )
    async def dispatch(
        request_id: Identifier,
        body: DispatchIn,
        principal: Principal = Depends(staff),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.dispatch(
            ctx, request_id, principal, body.assignee_ids, expected_version(if_match)
        )

    @router.post(
        "/{request_id}/escalate",
        response_model=RequestOut,
        summary="Send up a tier (beyond authority, or declined)",
    )
    async def escalate(
        request_id: Identifier,
        body: EscalateIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.escalate(
            ctx, request_id, principal, body.reason, body.note, body.assignee_ids, expected_version(if_match)
        )

    @router.post(
        "/{request_id}/decline",
        response_model=RequestOut,
        summary="The assignee declines: the request goes up a tier",
    )
    async def decline(
        request_id: Identifier,
        body: NoteIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.escalate(
            ctx, request_id, principal, EscalationReason.DECLINED, body.note, None, expected_version(if_match)
        )

    @router.post("/{request_id}/accept", response_model=RequestOut, summary="An assignee accepts the request")
    async def accept(
        request_id: Identifier,
        body: AcceptIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.accept(ctx, request_id, principal, body.assignee_id, expected_version(if_match))

    @router.post("/{request_id}/progress", response_model=RequestOut, summary="Record progress")
    async def progress(
        request_id: Identifier,
        body: NoteIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.progress(ctx, request_id, principal, body.note, expected_version(if_match))

    @router.post("/{request_id}/resolve", response_model=RequestOut, summary="Resolve with a result")
    async def resolve(
        request_id: Identifier,
        body: ResolveIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.resolve(ctx, request_id, principal, body.result, expected_version(if_match))

    @router.post(
        "/{request_id}/evaluate",
        response_model=RequestOut,
        summary="The resident rates the result (member token)",
    )
    async def evaluate(
        request_id: Identifier,
        body: EvaluateIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.evaluate(
            ctx, request_id, principal, body.rating, body.comment, expected_version(if_match)
        )

    @router.post(
        "/{request_id}/reopen", response_model=RequestOut, summary="The resident (or a supervisor) reopens it"
    )
    async def reopen(
        request_id: Identifier,
        body: ReopenIn,
        principal: Principal = Depends(anyone),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.reopen(ctx, request_id, principal, body.reason, expected_version(if_match))

    @router.post(
        "/{request_id}/close", response_model=RequestOut, summary="Close as withdrawn, duplicate or unfounded"
    )
    async def close(
        request_id: Identifier,
        body: CloseIn,
        principal: Principal = Depends(staff),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.close(
            ctx, request_id, principal, body.outcome, body.note, expected_version(if_match)
        )

    @router.post(
        "/{request_id}/move",
        response_model=RequestOut,
        summary="Move to another grid of the community (wrongly located)",
    )
    async def move(
        request_id: Identifier,
        body: MoveIn,
        principal: Principal = Depends(staff),
        if_match: str | None = IF_MATCH,
    ) -> View:
        return await requests.move(
            ctx, request_id, principal, body.grid_id, body.note, expected_version(if_match)
        )

    return router


def build_supervision_router(ctx: Context, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/supervision", tags=["supervision"])
    staff = auth.require(Role.ADMIN, Role.COORDINATOR)

    @router.get(
        "/rates",
        response_model=RatesOut,
        summary="Response, resolution and satisfaction rates per grid/community/street",
    )
    async def rates(
        region: str = Query(
            description="A grid id or a region code (street 420106002, city 4201, …)",
            min_length=2,
            max_length=15,
            pattern=r"^[0-9]+$",
        ),
        group_by: Literal["grid", "community", "street", "district"] = Query(default="community"),
        principal: Principal = Depends(staff),
    ) -> View:
        return await supervision.rates(ctx, principal, region, group_by)

    @router.get(
        "/overdue",
        response_model=list[RequestSummary],
        summary="Open requests past their deadline, oldest first",
    )
    async def overdue(
        region: str = Query(min_length=2, max_length=15, pattern=r"^[0-9]+$"),
        limit: int = Query(default=100, ge=1, le=1000),
        principal: Principal = Depends(staff),
    ) -> list[View]:
        return await supervision.overdue(ctx, principal, region, limit)

    @router.post(
        "/statistics/rebuild",
        response_model=RebuildOut,
        summary="Recompute the dashboards' statistics from the request documents (admin; run when quiet)",
    )
    async def rebuild_statistics(principal: Principal = Depends(auth.require(Role.ADMIN))) -> View:
        return await supervision.rebuild_statistics(ctx)

    return router
