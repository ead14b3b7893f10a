"""A member's own deliberation (the phone app's 议事 screen): the votes of their compounds with the
voters they may cast for and their ballots. Meetings they are invited to are ``GET /meetings?mine=true``;
a ballot is cast with ``POST /votes/{id}/ballots``."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from civicgrid_deliberation.entrypoints.schemas import MyVoteOut, MyVoteSummaryOut
from civicgrid_deliberation.service_layer import my_votes
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.http import Authenticator

Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="An id.")]


def build_router(ctx: Context, auth: Authenticator) -> APIRouter:
    router = APIRouter(tags=["me"])
    Member = Annotated[Principal, Depends(auth.principal)]

    @router.get(
        "/me/votes",
        summary="Votes of my compounds, with the households I may vote for and my ballots",
        response_model=list[MyVoteSummaryOut],
    )
    async def votes(
        principal: Member, limit: Annotated[int, Query(ge=1, le=100)] = 50
    ) -> list[dict[str, Any]]:
        return await my_votes.my_votes(ctx, principal, limit)

    @router.get(
        "/me/votes/{vote_id}",
        summary="A vote of my compound: rules, my ballots, the decision with its arithmetic once closed",
        response_model=MyVoteOut,
    )
    async def vote(vote_id: Id, principal: Member) -> dict[str, Any]:
        return await my_votes.my_vote(ctx, principal, vote_id)

    return router
