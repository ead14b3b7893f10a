"""Read routes: chains, trees, posts on a date, grids, two committees, coverage and gaps."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from civicgrid_orggraph.domain.cross_appointments import RULE_DESCRIPTIONS
from civicgrid_orggraph.domain.text import Id
from civicgrid_orggraph.entrypoints import answers
from civicgrid_orggraph.entrypoints.container import Container
from civicgrid_orggraph.entrypoints.schemas import Code, IsoDate
from civicgrid_orggraph.service_layer import queries
from civicgrid_runtime.auth import Principal, Role

OnDate = Annotated[IsoDate | None, Query(description="The date to answer for (YYYY-MM-DD; default: today).")]
PlaceCode = Annotated[Code, Path(description="A place code.")]
REGION_PATTERN = r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$"
RegionCode = Annotated[str, Path(pattern=REGION_PATTERN, description="A region code (2-12 digits).")]
GridPath = Annotated[str, Path(pattern=r"^\d{15}$", description="A grid id (15 digits).")]
IdPath = Annotated[Id, Path(description="An id (1-64 letters, digits or . _ : -).")]
GapMetric = Literal[
    "compounds_without_party_organisation",
    "buildings_without_party_group",
    "eligible_compounds_without_owners_committee",
    "buildings_without_grid",
    "communities_below_worker_standard",
    "communities_below_service_area_standard",
]
MAX_OFFSET = 1_000_000


def read_router(c: Container) -> APIRouter:
    router = APIRouter()
    Staff = Annotated[Principal, Depends(c.auth.require(Role.ADMIN, Role.COORDINATOR))]
    Anyone = Annotated[Principal, Depends(c.auth.principal)]

    @router.get(
        "/places/{code}",
        tags=["places"],
        summary="A place with its attributes and grid",
        response_model=answers.PlaceRead,
    )
    async def place(code: PlaceCode, principal: Staff) -> dict[str, Any]:
        return await queries.get_place(c.reader, principal, code)

    @router.get(
        "/buildings/{code}/responsibility-chain",
        tags=["queries"],
        summary="Who is responsible",
        response_model=answers.ResponsibilityChain,
    )
    async def chain(code: PlaceCode, principal: Staff, on: OnDate = None) -> dict[str, Any]:
        return await queries.responsibility_chain(c.reader, principal, code, on or date.today())

    @router.get(
        "/communities/{code}/tree",
        tags=["queries"],
        summary="Places, grids, organisations and posts",
        response_model=answers.CommunityTree,
    )
    async def tree(code: PlaceCode, principal: Staff) -> dict[str, Any]:
        return await queries.community_tree(c.reader, principal, code)

    @router.get(
        "/communities/{code}/two-committees",
        tags=["queries"],
        summary="Party and residents' committees",
        response_model=answers.TwoCommittees,
    )
    async def two(code: PlaceCode, principal: Staff, on: OnDate = None) -> dict[str, Any]:
        return await queries.two_committees(c.reader, principal, code, on or date.today())

    @router.get(
        "/people/{person_id}",
        tags=["people"],
        summary="A person (a member may read only themself)",
        response_model=answers.PersonOut,
    )
    async def person(person_id: IdPath, principal: Anyone) -> dict[str, Any]:
        return await queries.get_person(c.reader, principal, person_id)

    @router.get(
        "/people/{person_id}/posts",
        tags=["people"],
        summary="Posts held on a date, or the history",
        response_model=answers.PersonPosts,
    )
    async def posts(
        person_id: IdPath,
        principal: Anyone,
        on: OnDate = None,
        history: Annotated[bool, Query(description="Every term ever held, ended ones too.")] = False,
    ) -> dict[str, Any]:
        when = None if history else on or date.today()
        return await queries.person_posts(c.reader, principal, person_id, when)

    @router.get(
        "/posts/{post_id}/holders",
        tags=["posts"],
        summary="Who held this post on a date",
        response_model=answers.PostHolders,
    )
    async def holders(
        post_id: IdPath,
        principal: Staff,
        on: OnDate = None,
        history: Annotated[bool, Query(description="Every holder ever.")] = False,
    ) -> dict[str, Any]:
        return await queries.post_holders(
            c.reader, principal, post_id, None if history else on or date.today()
        )

    @router.get(
        "/grids/{grid_id}/members",
        tags=["grids"],
        summary="Buildings and staff of a grid",
        response_model=answers.GridMembers,
    )
    async def grid(grid_id: GridPath, principal: Staff, on: OnDate = None) -> dict[str, Any]:
        return await queries.grid_members(c.reader, principal, grid_id, on or date.today())

    @router.get(
        "/organisations/{org_id}",
        tags=["organisations"],
        summary="An organisation",
        response_model=answers.OrganisationRead,
    )
    async def organisation(org_id: IdPath, principal: Staff) -> dict[str, Any]:
        return await queries.organisation(c.reader, principal, org_id)

    @router.get(
        "/regions/{code}/coverage",
        tags=["analytics"],
        summary="Coverage and standards indicators",
        response_model=answers.Coverage,
    )
    async def coverage(code: RegionCode, principal: Staff) -> dict[str, Any]:
        return await queries.coverage(c.coverage, principal, code)

    @router.get(
        "/regions/{code}/coverage/gaps/{metric}",
        tags=["analytics"],
        summary="The gaps, by name",
        response_model=answers.Gaps,
    )
    async def gaps(
        code: RegionCode,
        metric: GapMetric,
        principal: Staff,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        return await queries.coverage_gaps(c.coverage, principal, code, metric, offset, limit)

    @router.get(
        "/regions/{code}/cross-appointment-flags",
        tags=["analytics"],
        summary="Flagged conflicts",
        response_model=answers.Flags,
    )
    async def flags(
        code: RegionCode, principal: Staff, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        return await queries.flags(c.reader, principal, code, limit)

    @router.get(
        "/policy/cross-appointments",
        tags=["analytics"],
        summary="The rules and their modes",
        response_model=answers.Policy,
    )
    async def policy(principal: Anyone) -> dict[str, Any]:
        return {
            "rules": [
                {"rule": rule, "mode": c.policy[rule].value, "description": RULE_DESCRIPTIONS[rule]}
                for rule in sorted(c.policy)
            ]
        }

    return router
