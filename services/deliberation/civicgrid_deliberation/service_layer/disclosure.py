"""Public disclosure (码上公开): coordinators publish items; anyone reads a place's page, no sign-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from civicgrid_deliberation.domain.disclosure import DisclosureItem, DisclosureKind, Figure
from civicgrid_deliberation.domain.forums import Forum, ForumLevel
from civicgrid_deliberation.service_layer.context import Context, ensure_coordinator, fingerprint, new_id
from civicgrid_deliberation.service_layer.ports import View
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import InvalidInput


@dataclass(frozen=True)
class PublishItem:
    place_code: str
    kind: DisclosureKind
    title: str
    body: str = ""
    figures: list[tuple[str, Decimal, str]] = field(default_factory=list)
    source_id: str | None = None


def public_place(place_code: str) -> Forum:
    """Disclosure pages exist for communities (villages) and compounds."""
    for level in (ForumLevel.COMMUNITY, ForumLevel.COMPOUND):
        try:
            return Forum(level, place_code)
        except InvalidInput:
            continue
    raise InvalidInput(f"{place_code!r} is not the code of a community or compound", field="place_code")


async def publish(ctx: Context, principal: Principal, cmd: PublishItem, key: str | None) -> tuple[View, bool]:
    public_place(cmd.place_code)
    ensure_coordinator(principal, cmd.place_code)
    item = DisclosureItem.publish(
        new_id("ds", principal, key),
        cmd.place_code,
        cmd.kind,
        cmd.title,
        cmd.body,
        ctx.clock(),
        principal.subject,
        [Figure(label, amount, unit) for label, amount, unit in cmd.figures],
        cmd.source_id,
    )
    body = {**cmd.__dict__, "figures": [list(map(str, f)) for f in cmd.figures]}
    stored, created = await ctx.uow.add(item, fingerprint(key, body))
    return stored.public_view(), created


async def public_items(ctx: Context, place_code: str, limit: int) -> list[View]:
    """What anyone may read: no sign-in, no personal data (``DisclosureItem.public_view``)."""
    public_place(place_code)
    return await ctx.views.disclosures(place_code, limit)
