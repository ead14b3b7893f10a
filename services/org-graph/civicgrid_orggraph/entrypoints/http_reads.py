"""Read routes: chains, trees, posts on a date, grids, two committees, coverage and gaps."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from civicgrid_orggraph.domain.cross_appointments import RULE_DESCRIPTIONS
from civicgrid_orggraph.entrypoints.container import Container
from civicgrid_orggraph.service_layer import queries
from civicgrid_runtime.auth import Principal, Role

OnDate = Annotated[date | None, Query(description="The date to answer for (default: today).")]


def read_router(c: Container) -> APIRouter:
    router = APIRouter()
    Staff = Annotated[Principal, Depends(c.auth.require(Role.ADMIN, Role.COORDINATOR))]
    Anyone = Annotated[Principal, Depends(c.auth.principal)]

    @router.get("/places/{code}", tags=["places"], summary="A place with its attributes and grid")
    async def place(code: str, principal: Staff) -> dict[str, Any]:
        return await queries.get_place(c.reader, principal, code)

    @router.get("/buildings/{code}/responsibility-chain", tags=["queries"], summary="Who is responsible")
    async def chain(code: str, principal: Staff, on: OnDate = None) -> dict[str, Any]:
        return await queries.responsibility_chain(c.reader, principal, code, on or date.today())

    @router.get(
        "/communities/{code}/tree", tags=["queries"], summary="Places, grids, organisations and posts"
    )
    async def tree(code: str, principal: Staff) -> dict[str, Any]:
        return await queries.community_tree(c.reader, principal, code)

    @router.get(
        "/communities/{code}/two-committees", tags=["queries"], summary="Party and residents' committees"
    )
    async def two(code: str, principal: Staff, on: OnDate = None) -> dict[str, Any]:
        return await queries.two_committees(c.reader, principal, code, on or date.today())

    @router.get("/people/{person_id}", tags=["people"], summary="A person (a member may read only themself)")
    async def person(person_id: str, principal: Anyone) -> dict[str, Any]:
        return await queries.get_person(c.reader, principal, person_id)

    @router.get("/people/{person_id}/posts", tags=["people"], summary="Posts held on a date, or the history")
    async def posts(
        person_id: str,
        principal: Anyone,
        on: OnDate = None,
        history: Annotated[bool, Query(description="Every term ever held, ended ones too.")] = False,
    ) -> dict[str, Any]:
        when = None if history else on or date.today()
        return await queries.person_posts(c.reader, principal, person_id, when)

    @router.get("/posts/{post_id}/holders", tags=["posts"], summary="Who held this post on a date")
    async def holders(
        post_id: str,
        principal: Staff,
        on: OnDate = None,
        history: Annotated[bool, Query(description="Every holder ever.")] = False,
    ) -> dict[str, Any]:
        return await queries.post_holders(
            c.reader, principal, post_id, None if history else on or date.today()
        )

    @router.get("/grids/{grid_id}/members", tags=["grids"], summary="Buildings and staff of a grid")
    async def grid(grid_id: str, principal: Staff, on: OnDate = None) -> dict[str, Any]:
        return await queries.grid_members(c.reader, principal, grid_id, on or date.today())

    @router.get("/organisations/{org_id}", tags=["organisations"], summary="An organisation")
    async def organisation(org_id: str, principal: Staff) -> dict[str, Any]:
        return await queries.organisation(c.reader, principal, org_id)

    @router.get("/regions/{code}/coverage", tags=["analytics"], summary="Coverage and standards indicators")
    async def coverage(code: str, principal: Staff) -> dict[str, Any]:
        return await queries.coverage(c.coverage, principal, code)

    @router.get("/regions/{code}/coverage/gaps/{metric}", tags=["analytics"], summary="The gaps, by name")
    async def gaps(
        code: str,
        metric: str,
        principal: Staff,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        return await queries.coverage_gaps(c.coverage, principal, code, metric, offset, limit)

    @router.get("/regions/{code}/cross-appointment-flags", tags=["analytics"], summary="Flagged conflicts")
    async def flags(
        code: str, principal: Staff, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        return await queries.flags(c.reader, principal, code, limit)

    @router.get("/policy/cross-appointments", tags=["analytics"], summary="The rules and their modes")
    async def policy(principal: Anyone) -> dict[str, Any]:
        return {
            "rules": [
                {"rule": rule, "mode": c.policy[rule].value, "description": RULE_DESCRIPTIONS[rule]}
                for rule in sorted(c.policy)
            ]
        }

    return router
