"""Household routes for coordinators: register, change, remove; read one; list a building's or compound's
households with their totals. Writes accept an ``Idempotency-Key`` like every org-graph write."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Path, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from civicgrid_orggraph.adapters.tabular import read_table, write_csv, write_xlsx
from civicgrid_orggraph.domain.household_roster import HOUSEHOLD_COLUMNS, parse_household_roster
from civicgrid_orggraph.domain.households import MAX_PEOPLE_PER_HOUSEHOLD
from civicgrid_orggraph.domain.text import Id
from civicgrid_orggraph.domain.vocabulary import PlaceKind
from civicgrid_orggraph.entrypoints.container import Container
from civicgrid_orggraph.entrypoints.schemas import Code
from civicgrid_orggraph.service_layer import household_roster, households
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Region = Annotated[
    str,
    Query(
        pattern=r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$",
        description="A community, street, district or city code",
    ),
]


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


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
Number = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z]{1,8}$")]
Area = Annotated[float, Field(ge=0, le=100_000, description="专有部分面积 in m², rounded to two decimals.")]
People = Annotated[list[Id], Field(max_length=MAX_PEOPLE_PER_HOUSEHOLD)]
HouseholdPath = Annotated[
    Code,
    Path(description="A household code: <building>-U<entrance>-<unit>, e.g. 420106002003-C01-B07-U2-1203."),
]
PlacePath = Annotated[Code, Path(description="A place code.")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HouseholdIn(Body):
    building_code: Code
    entrance: Number = Field(description="The entrance (单元) number, e.g. 2.")
    unit_number: Number = Field(description="The unit (room) number, e.g. 1203.")
    exclusive_area_m2: Area
    owner_person_ids: People = Field(default_factory=list, description="Registered persons (POST /people).")
    resident_person_ids: People = Field(default_factory=list)
    representative_person_id: Id | None = Field(
        default=None, description="The residents' representative who keeps in touch (代表联系户)."
    )


class HouseholdPatch(Body):
    exclusive_area_m2: Area | None = None
    owner_person_ids: People | None = None
    resident_person_ids: People | None = None
    representative_person_id: Id | None = Field(default=None, description="null (given) removes it.")

    @model_validator(mode="after")
    def _something(self) -> "HouseholdPatch":
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        names = {
            "exclusive_area_m2": "exclusive_area_m2",
            "owner_person_ids": "owner_ids",
            "resident_person_ids": "resident_ids",
            "representative_person_id": "representative_id",
        }
        changes = {names[f]: getattr(self, f) for f in self.model_fields_set}
        for field in ("exclusive_area_m2", "owner_ids", "resident_ids"):
            if field in changes and changes[field] is None:
                changes.pop(field)  # null means "unchanged" for these; only the representative is cleared
        return changes


class OwnersIn(Body):
    owner_person_ids: People


class ResidentsIn(Body):
    resident_person_ids: People


class RepresentativeIn(Body):
    representative_person_id: Id | None = Field(description="null: no representative.")


class HouseholdOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    household_code: str
    community_code: str
    compound_code: str | None = None
    building_code: str
    entrance_code: str
    entrance: str
    unit_number: str
    exclusive_area_m2: float
    owner_person_ids: list[str]
    resident_person_ids: list[str]
    representative_person_id: str | None = None
    version: int
    active: bool


class HouseholdRegistered(HouseholdOut):
    created: bool = Field(description="False when the same household was already registered.")


class HouseholdChanged(HouseholdOut):
    changed: bool = Field(description="False when nothing was different (nothing written or published).")


class Threshold(BaseModel):
    area_m2: float
    owners: int


class HouseholdTotals(BaseModel):
    model_config = ConfigDict(extra="allow")

    households: int
    area_m2: float = Field(description="Sum of the exclusive areas: the area denominator of owners' votes.")
    owned_households: int
    households_without_owners: int
    owner_persons: int = Field(description="Distinct persons owning at least one unit.")
    owner_headcount: int = Field(
        description="Owners as the law counts them: one per owned unit, units of the same owner(s) once."
    )
    motion_5_percent: Threshold = Field(description="5 % of area and of headcount (rounded up).")
    participation_two_thirds: Threshold = Field(description="2/3 of area and of headcount (rounded up).")


class HouseholdsImported(BaseModel):
    model_config = ConfigDict(extra="allow")

    rows: int
    households_registered: int
    households_updated: int
    people_registered: int = Field(description="Owners the file named that were not registered yet.")
    changed: bool
    dry_run: bool


class HouseholdList(BaseModel):
    model_config = ConfigDict(extra="allow")

    place_code: str
    kind: str
    totals: HouseholdTotals
    offset: int
    households: list[HouseholdOut]


class PersonHouseholds(BaseModel):
    person_id: str
    owns: list[HouseholdOut]
    resides_in: list[HouseholdOut]
    keeps_in_touch_with: list[HouseholdOut] = Field(
        description="The households this person keeps in touch with as a residents' representative "
        "(代表联系户)."
    )


def household_router(c: Container) -> APIRouter:
    router = APIRouter()
    Staff = Annotated[Principal, Depends(c.auth.require(Role.ADMIN, Role.COORDINATOR))]
    Anyone = Annotated[Principal, Depends(c.auth.principal)]

    @router.post(
        "/households",
        tags=["households"],
        summary="Register a household in a building",
        status_code=201,
        response_model=HouseholdRegistered,
    )
    async def register(
        body: HouseholdIn, principal: Staff, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        cmd = households.RegisterHousehold(
            body.building_code,
            body.entrance,
            body.unit_number,
            body.exclusive_area_m2,
            tuple(body.owner_person_ids),
            tuple(body.resident_person_ids),
            body.representative_person_id,
        )
        result = await households.register_household(c.uow, principal, cmd, key)
        response.status_code = 201 if result["created"] else 200
        return result

    @router.patch(
        "/households/{code}",
        tags=["households"],
        summary="Change a household's area, owners, residents or representative",
        response_model=HouseholdChanged,
    )
    async def update(
        code: HouseholdPath, body: HouseholdPatch, principal: Staff, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return await households.change_household(c.uow, principal, code, body.changes(), key=key)

    @router.put(
        "/households/{code}/owners",
        tags=["households"],
        summary="Set a household's owners",
        response_model=HouseholdChanged,
    )
    async def set_owners(
        code: HouseholdPath, body: OwnersIn, principal: Staff, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        changes = {"owner_ids": body.owner_person_ids}
        return await households.change_household(c.uow, principal, code, changes, "set_owners", key)

    @router.put(
        "/households/{code}/residents",
        tags=["households"],
        summary="Set a household's residents",
        response_model=HouseholdChanged,
    )
    async def set_residents(
        code: HouseholdPath, body: ResidentsIn, principal: Staff, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        changes = {"resident_ids": body.resident_person_ids}
        return await households.change_household(c.uow, principal, code, changes, "set_residents", key)

    @router.put(
        "/households/{code}/representative",
        tags=["households"],
        summary="Set (or clear) the representative who keeps in touch with a household",
        response_model=HouseholdChanged,
    )
    async def set_representative(
        code: HouseholdPath, body: RepresentativeIn, principal: Staff, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        changes = {"representative_id": body.representative_person_id}
        return await households.change_household(c.uow, principal, code, changes, "set_representative", key)

    @router.delete(
        "/households/{code}",
        tags=["households"],
        summary="Remove a household (its version is kept)",
        response_model=HouseholdChanged,
    )
    async def remove(code: HouseholdPath, principal: Staff, key: IdempotencyKey = None) -> dict[str, Any]:
        return await households.remove_household(c.uow, principal, code, key)

    @router.get("/households/{code}", tags=["households"], summary="A household", response_model=HouseholdOut)
    async def read(code: HouseholdPath, principal: Staff) -> dict[str, Any]:
        return await households.get_household(c.reader, principal, code)

    @router.get(
        "/people/{person_id}/households",
        tags=["households"],
        summary="The households a person owns, lives in, and keeps in touch with as a representative",
        description="A member reads their own; coordinators a person of their region, and of that person's "
        "households those in their region.",
        response_model=PersonHouseholds,
    )
    async def of_person(
        person_id: Annotated[Id, Path(description="A person id.")], principal: Anyone
    ) -> dict[str, Any]:
        return await households.person_households(c.reader, principal, person_id)

    Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Households to skip (totals cover all).")]
    Limit = Annotated[int, Query(ge=1, le=10_000, description="Households to list at most.")]

    @router.get(
        "/buildings/{code}/households",
        tags=["households"],
        summary="A building's households with their area and owner totals",
        response_model=HouseholdList,
    )
    async def of_building(
        code: PlacePath, principal: Staff, offset: Offset = 0, limit: Limit = 1000
    ) -> dict[str, Any]:
        kinds = (PlaceKind.BUILDING,)
        return await households.list_households(c.reader, principal, code, kinds, offset, limit)

    @router.get(
        "/compounds/{code}/households",
        tags=["households"],
        summary="A compound's (or a community's) households with their area and owner totals",
        response_model=HouseholdList,
    )
    async def of_compound(
        code: PlacePath, principal: Staff, offset: Offset = 0, limit: Limit = 1000
    ) -> dict[str, Any]:
        kinds = (PlaceKind.COMPOUND, PlaceKind.COMMUNITY, PlaceKind.VILLAGE)
        return await households.list_households(c.reader, principal, code, kinds, offset, limit)

    @router.post(
        "/imports/households",
        tags=["import and export"],
        summary="Import a household roster (CSV or XLSX); all rows or none",
        description="Columns: " + ", ".join(HOUSEHOLD_COLUMNS) + ". Lists are separated by ';'. An owner "
        "id not registered yet is registered with the name in owner_names. A rejected file returns 422 "
        "with every bad row (row number, column, reason) and writes nothing. Re-importing the same file "
        "changes nothing; households not in the file are left as they are.",
        response_model=HouseholdsImported,
    )
    async def import_households(
        principal: Staff,
        file: Annotated[
            UploadFile, File(description="The household roster, .csv (UTF-8 or GB18030) or .xlsx")
        ],
        dry_run: Annotated[bool, Query(description="Validate and report, write nothing.")] = False,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        content = await file.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
        header, rows = read_table(file.filename or "", content)
        parsed = parse_household_roster(header, rows)
        return await household_roster.import_households(c.uow, principal, parsed, dry_run=dry_run, key=key)

    @router.get(
        "/exports/households",
        tags=["import and export"],
        summary="Export the household roster of a region (re-importable)",
        response_class=Response,
        responses={
            200: {
                "description": "The file, in the import's own columns.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def export_households(
        principal: Staff, region: Region, format: ExportFormat = ExportFormat.CSV
    ) -> Response:
        rows = await household_roster.export_households(c.reader, principal, region)
        name = f"households-{region}"
        headers = {"Content-Disposition": f'attachment; filename="{name}.{format.value}"'}
        if format is ExportFormat.XLSX:
            return Response(write_xlsx(HOUSEHOLD_COLUMNS, rows, name), media_type=XLSX, headers=headers)
        return Response(
            write_csv(HOUSEHOLD_COLUMNS, rows), media_type="text/csv; charset=utf-8", headers=headers
        )

    return router
