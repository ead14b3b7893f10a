"""Bulk import (CSV / XLSX building roster, all-or-nothing) and export in the same columns."""

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from civicgrid_orggraph.adapters.tabular import read_table, write_csv, write_xlsx
from civicgrid_orggraph.domain.post_roster import POST_COLUMNS, parse_post_roster
from civicgrid_orggraph.domain.roster import COLUMNS, parse_roster
from civicgrid_orggraph.entrypoints import answers
from civicgrid_orggraph.entrypoints.container import Container
from civicgrid_orggraph.entrypoints.http_writes import IdempotencyKey
from civicgrid_orggraph.entrypoints.schemas import IsoDate
from civicgrid_orggraph.service_layer import post_roster, queries, roster
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FILE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, in the import's own columns.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
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


def transfer_router(c: Container) -> APIRouter:
    router = APIRouter(tags=["import and export"])
    Writer = Annotated[Principal, Depends(c.auth.require(Role.ADMIN, Role.COORDINATOR))]

    @router.post(
        "/imports/roster",
        summary="Import a building roster (CSV or XLSX); all rows or none",
        description="Columns: " + ", ".join(COLUMNS) + ". A rejected file returns 422 with every bad row "
        "(row number, column, reason) and writes nothing. Re-importing the same file changes nothing.",
        response_model=answers.RosterImported,
    )
    async def import_roster(
        principal: Writer,
        file: Annotated[UploadFile, File(description="The roster, .csv (UTF-8 or GB18030) or .xlsx")],
        dry_run: Annotated[bool, Query(description="Validate and report, write nothing.")] = False,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        content = await file.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
        header, rows = read_table(file.filename or "", content)
        parsed = parse_roster(header, rows)
        return await roster.import_roster(c.uow, principal, parsed, dry_run=dry_run, key=key)

    @router.post(
        "/imports/posts",
        summary="Import a post roster (CSV or XLSX): people and their terms; all rows or none",
        description="Columns: " + ", ".join(POST_COLUMNS) + ". Every appointment rule applies; each broken "
        "rule is reported with its row number and nothing is written. "
        "Re-importing the same file changes nothing.",
        response_model=answers.PostsImported,
    )
    async def import_posts(
        principal: Writer,
        file: Annotated[UploadFile, File(description="The post roster, .csv or .xlsx")],
        dry_run: Annotated[bool, Query(description="Validate and report, write nothing.")] = False,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        content = await file.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
        header, rows = read_table(file.filename or "", content)
        parsed = parse_post_roster(header, rows)
        return await post_roster.import_posts(
            c.uow, principal, parsed, c.id_hash_salt, c.policy, dry_run=dry_run, key=key
        )

    @router.get(
        "/exports/posts",
        summary="Export the current posts of a region (re-importable)",
        response_class=Response,
        responses=_FILE_ANSWER,
    )
    async def export_posts(
        principal: Writer,
        region: Region,
        format: ExportFormat = ExportFormat.CSV,
        on: Annotated[
            IsoDate | None, Query(description="Terms held on this date (YYYY-MM-DD; default today)")
        ] = None,
    ) -> Response:
        rows = await queries.post_roster(c.reader, principal, region, on or date.today())
        return _file(rows, POST_COLUMNS, f"posts-{region}", format)

    @router.get(
        "/exports/roster",
        summary="Export the building roster of a region (re-importable)",
        response_class=Response,
        responses=_FILE_ANSWER,
    )
    async def export_roster(
        principal: Writer,
        region: Region,
        format: ExportFormat = ExportFormat.CSV,
    ) -> Response:
        rows = roster.export_rows(await queries.roster(c.reader, principal, region))
        return _file(rows, COLUMNS, f"roster-{region}", format)

    return router


def _file(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], name: str, format: ExportFormat
) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format.value}"'}
    if format is ExportFormat.XLSX:
        return Response(write_xlsx(columns, rows, name), media_type=XLSX, headers=headers)
    return Response(write_csv(columns, rows), media_type="text/csv; charset=utf-8", headers=headers)
