"""Write routes: places, grids, organisations, people, posts. Each accepts an ``Idempotency-Key``."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response

from civicgrid_orggraph.domain.text import Id
from civicgrid_orggraph.entrypoints import answers
from civicgrid_orggraph.entrypoints.container import Container
from civicgrid_orggraph.entrypoints.http_households import household_router
from civicgrid_orggraph.entrypoints.schemas import (
    AppointIn,
    Code,
    DissolveIn,
    EndIn,
    GridDissolveIn,
    GridIn,
    MoveIn,
    OrganisationDissolveIn,
    OrganisationIn,
    PersonIn,
    PlaceIn,
    PlacePatch,
    RenameIn,
)
from civicgrid_orggraph.service_layer import grids, memberships, organisations, people, places
from civicgrid_runtime.auth import Principal, Role

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A retry with the same key returns the first result; the same key with another body is "
        "a 409 naming the fields that differ.",
    ),
]
PlaceCode = Annotated[Code, Path(description="A place code.")]
GridPath = Annotated[str, Path(pattern=r"^\d{15}$", description="A grid id (15 digits).")]
IdPath = Annotated[Id, Path(description="An id (1-64 letters, digits or . _ : -).")]


def created(response: Response, result: dict[str, Any]) -> dict[str, Any]:
    """201 when something was created; 200 when the same request found it already there."""
    response.status_code = 201 if result.get("created", True) else 200
    return result


def write_router(c: Container) -> APIRouter:
    router = APIRouter()
    Writer = Annotated[Principal, Depends(c.auth.require(Role.ADMIN, Role.COORDINATOR))]

    @router.post(
        "/places",
        tags=["places"],
        summary="Register a place (division to building)",
        status_code=201,
        response_model=answers.PlaceRegistered,
    )
    async def register_place(
        body: PlaceIn, principal: Writer, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        cmd = places.RegisterPlace(body.kind, body.code, body.name, body.parent_code, dict(body.attributes))
        result = await places.register_place(c.uow, principal, cmd, key)
        return created(response, result)

    @router.patch(
        "/places/{code}",
        tags=["places"],
        summary="Rename a place or change its attributes",
        response_model=answers.PlaceChanged,
    )
    async def update_place(
        code: PlaceCode, body: PlacePatch, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await places.update_place(c.uow, principal, code, body.name, dict(body.attributes), key)

    @router.post(
        "/places/{code}/dissolve",
        tags=["places"],
        summary="Dissolve a place (kept in history)",
        response_model=answers.PlaceChanged,
    )
    async def dissolve_place(
        code: PlaceCode, body: DissolveIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await places.dissolve_place(c.uow, principal, code, body.merged_into, body.reason, key)

    @router.post(
        "/grids",
        tags=["grids"],
        summary="Define a grid over buildings of one community",
        status_code=201,
        response_model=answers.GridDefined,
    )
    async def define_grid(
        body: GridIn, principal: Writer, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        cmd = grids.DefineGrid(body.grid_id, body.name, body.covers, tuple(body.building_codes))
        result = await grids.define_grid(c.uow, principal, cmd, key)
        return created(response, result)

    @router.post(
        "/buildings/{code}/grid",
        tags=["grids"],
        summary="Put a building in a grid (or move it)",
        response_model=answers.BuildingMoved,
    )
    async def move_building(
        code: PlaceCode, body: MoveIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await grids.move_building(c.uow, principal, code, body.grid_id, key)

    @router.post(
        "/organisations",
        tags=["organisations"],
        summary="Form an organisation",
        status_code=201,
        response_model=answers.OrganisationFormed,
    )
    async def form(
        body: OrganisationIn, principal: Writer, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        cmd = organisations.FormOrganisation(
            body.kind, body.name, body.place_code, body.parent_org_id, body.org_id, body.formed_on
        )
        result = await organisations.form_organisation(c.uow, principal, cmd, key)
        return created(response, result)

    @router.patch(
        "/organisations/{org_id}",
        tags=["organisations"],
        summary="Rename an organisation",
        response_model=answers.OrganisationChanged,
    )
    async def rename(
        org_id: IdPath, body: RenameIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await organisations.rename_organisation(c.uow, principal, org_id, body.name, key)

    @router.patch(
        "/grids/{grid_id}", tags=["grids"], summary="Rename a grid", response_model=answers.GridRenamed
    )
    async def rename_grid(
        grid_id: GridPath, body: RenameIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await grids.rename_grid(c.uow, principal, grid_id, body.name, key)

    @router.post(
        "/grids/{grid_id}/dissolve",
        tags=["grids"],
        summary="Dissolve an empty grid; its posts end",
        response_model=answers.GridDissolved,
    )
    async def dissolve_grid(
        grid_id: GridPath, body: GridDissolveIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await grids.dissolve_grid(c.uow, principal, grid_id, body.on, body.reason, key)

    @router.post(
        "/organisations/{org_id}/dissolve",
        tags=["organisations"],
        summary="Dissolve; open terms end",
        response_model=answers.OrganisationDissolved,
    )
    async def dissolve(
        org_id: IdPath, body: OrganisationDissolveIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await organisations.dissolve_organisation(
            c.uow, principal, org_id, body.on, body.reason, body.successor_org_id, key
        )

    @router.post(
        "/people",
        tags=["people"],
        summary="Register a person (minimal personal data)",
        status_code=201,
        response_model=answers.PersonRegistered,
    )
    async def register_person(
        body: PersonIn, principal: Writer, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        cmd = people.RegisterPerson(
            body.display_name,
            body.community_code,
            body.party_member,
            body.phone,
            body.id_number,
            body.person_id,
        )
        result = await people.register_person(c.uow, principal, cmd, c.id_hash_salt, key)
        return created(response, result)

    @router.post(
        "/memberships",
        tags=["posts"],
        summary="Appoint a person to a post",
        status_code=201,
        response_model=answers.Appointed,
    )
    async def appoint(
        body: AppointIn, principal: Writer, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        cmd = memberships.Appoint(
            body.person_id,
            body.org_id,
            body.post,
            body.start_date,
            body.basis,
            body.basis_reference,
            body.term_end_date,
            body.grid_id,
            body.building_code,
            body.drawn_from_org_id,
            body.membership_id,
        )
        result = await memberships.appoint(c.uow, principal, cmd, c.policy, key)
        return created(response, result)

    @router.post(
        "/memberships/{membership_id}/end",
        tags=["posts"],
        summary="End a term (history is kept)",
        response_model=answers.TermEnded,
    )
    async def end(
        membership_id: IdPath, body: EndIn, principal: Writer, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await memberships.end_membership(
            c.uow, principal, membership_id, body.end_date, body.reason, body.note, key
        )

    router.include_router(household_router(c))
    return router
