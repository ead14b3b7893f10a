"""The public disclosure page (码上公开) of a community or compound and its QR code: no sign-in.

What is shown comes from ``DisclosureItem.public_view`` only (no person, no phone, no name); every
text is HTML-escaped. The QR code (segno, pure Python) encodes the page's address under
``public_base_url`` so a notice board can carry it.
"""

import html
import io
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from civicgrid_deliberation.entrypoints.schemas import DisclosureItemOut
from civicgrid_deliberation.service_layer import disclosure
from civicgrid_deliberation.service_layer.context import Context

Place = Annotated[
    str,
    Path(pattern=r"^\d{12}(-C[0-9A-Za-z]{1,8})?$", description="A community (12 digits) or compound code."),
]

KIND_LABELS = {
    "decision": "决定 Decision",
    "finance": "财务 Finances",
    "project_progress": "项目进展 Project progress",
    "meeting": "会议 Meeting",
    "appraisal": "民主评议 Appraisal",
}


def page_url(base_url: str, place_code: str) -> str:
    return f"{base_url.rstrip('/')}/public/disclosures/{place_code}/page"


def render_page(place_code: str, items: list[dict[str, Any]], qr_svg_path: str) -> str:
    e = html.escape
    rows = []
    for item in items:
        figures = "".join(
            f"<tr><td>{e(f['label'])}</td><td class=n>{e(f['amount'])}</td><td>{e(f['unit'])}</td></tr>"
            for f in item["figures"]
        )
        rows.append(
            "<article>"
            f"<h2>{e(item['title'])}</h2>"
            f"<p class=meta>{e(KIND_LABELS.get(item['kind'], item['kind']))} · "
            f"<time datetime='{e(item['published_at'])}'>{e(item['published_at'][:10])}</time></p>"
            f"<p>{e(item['body'])}</p>"
            + (f"<table><tbody>{figures}</tbody></table>" if figures else "")
            + "</article>"
        )
    body = "".join(rows) or "<p>暂无公开事项 · Nothing disclosed yet.</p>"
    return (
        "<!doctype html><html lang=zh><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>码上公开 {e(place_code)}</title>"
        "<style>body{font-family:sans-serif;max-width:46rem;margin:auto;padding:1rem;color:#111}"
        "article{border-top:1px solid #ccc;padding:.5rem 0}.meta{color:#444}"
        "td{padding:.1rem .6rem}.n{text-align:right;font-variant-numeric:tabular-nums}</style>"
        f"</head><body><main><h1>码上公开 · Public disclosure</h1><p>{e(place_code)}</p>"
        f"<img src='{e(qr_svg_path)}' alt='QR code of this page' width=132 height=132>"
        f"{body}</main></body></html>"
    )


def qr_bytes(url: str, kind: str, scale: int) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind=kind, scale=scale, border=2)
    return out.getvalue()


def build_router(ctx: Context, public_base_url: str) -> APIRouter:
    router = APIRouter(prefix="/public/disclosures", tags=["public"])

    @router.get(
        "/{place_code}",
        summary="Disclosed items of a place (no sign-in)",
        response_model=list[DisclosureItemOut],
    )
    async def items(
        place_code: Place, limit: Annotated[int, Query(ge=1, le=500)] = 100
    ) -> list[dict[str, Any]]:
        return await disclosure.public_items(ctx, place_code, limit)

    @router.get(
        "/{place_code}/page", summary="The public page (HTML, no sign-in)", response_class=HTMLResponse
    )
    async def page(place_code: Place) -> HTMLResponse:
        found = await disclosure.public_items(ctx, place_code, 200)
        return HTMLResponse(render_page(place_code, found, f"/public/disclosures/{place_code}/qr.svg"))

    @router.get(
        "/{place_code}/qr.svg",
        summary="QR code of the public page (SVG)",
        response_class=Response,
        responses={200: {"content": {"image/svg+xml": {}}}},
    )
    async def qr_svg(place_code: Place, scale: Annotated[int, Query(ge=1, le=40)] = 4) -> Response:
        disclosure.public_place(place_code)
        return Response(
            qr_bytes(page_url(public_base_url, place_code), "svg", scale), media_type="image/svg+xml"
        )

    @router.get(
        "/{place_code}/qr.png",
        summary="QR code of the public page (PNG)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
    )
    async def qr_png(place_code: Place, scale: Annotated[int, Query(ge=1, le=40)] = 8) -> Response:
        disclosure.public_place(place_code)
        return Response(qr_bytes(page_url(public_base_url, place_code), "png", scale), media_type="image/png")

    return router
