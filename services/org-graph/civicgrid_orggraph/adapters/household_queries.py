"""Read queries over households (one Cypher round trip each, indexed by code)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from civicgrid_orggraph.adapters.tx_households import from_props
from civicgrid_orggraph.domain.households import Household
from civicgrid_orggraph.domain.vocabulary import PlaceKind

_UNDER: dict[PlaceKind, LiteralString] = {
    PlaceKind.BUILDING: "MATCH (h:Household {building_code: $code}) WHERE h.active "
    "RETURN properties(h) AS h ORDER BY h.code",
    PlaceKind.COMPOUND: "MATCH (h:Household {compound_code: $code}) WHERE h.active "
    "RETURN properties(h) AS h ORDER BY h.code",
    PlaceKind.COMMUNITY: "MATCH (h:Household {community_code: $code}) WHERE h.active "
    "RETURN properties(h) AS h ORDER BY h.code",
    PlaceKind.VILLAGE: "MATCH (h:Household {community_code: $code}) WHERE h.active "
    "RETURN properties(h) AS h ORDER BY h.code",
}


class HouseholdQueries:
    """Mixed into ``Neo4jQueries`` (which provides ``rows``)."""

    async def rows(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def household(self, code: str) -> Household | None:
        rows = await self.rows("MATCH (h:Household {code: $code}) RETURN properties(h) AS h", code=code)
        return from_props(rows[0]["h"]) if rows else None

    async def households_under(self, code: str, kind: PlaceKind) -> list[Household]:
        return [from_props(r["h"]) for r in await self.rows(_UNDER[kind], code=code)]

    async def household_roster(self, prefix: str) -> list[Household]:
        """Every active household whose code starts with ``prefix`` (a region or place code)."""
        rows = await self.rows(
            "MATCH (h:Household) WHERE h.code STARTS WITH $prefix AND h.active "
            "RETURN properties(h) AS h ORDER BY h.code",
            prefix=prefix,
        )
        return [from_props(r["h"]) for r in rows]

    async def households_of_person(self, person_id: str) -> list[tuple[str, Household]]:
        """``(link, household)`` for each active household the person owns (``OWNS``), lives in
        (``RESIDES_IN``) or keeps in touch with as a representative (``KEEPS_IN_TOUCH_WITH``)."""
        rows = await self.rows(
            "MATCH (:Person {id: $id})-[r:OWNS|RESIDES_IN|KEEPS_IN_TOUCH_WITH]->(h:Household) WHERE h.active "
            "RETURN type(r) AS link, properties(h) AS h ORDER BY h.code, link",
            id=person_id,
        )
        return [(str(r["link"]), from_props(r["h"])) for r in rows]

    async def person_names(self, person_ids: Sequence[str]) -> dict[str, str]:
        rows = await self.rows(
            "UNWIND $ids AS id MATCH (p:Person {id: id}) RETURN p.id AS id, p.display_name AS name",
            ids=list(person_ids),
        )
        return {r["id"]: r["name"] for r in rows}
