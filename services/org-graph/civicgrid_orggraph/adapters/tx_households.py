"""Households inside one Neo4j managed transaction.

Graph: ``(:Household)-[:IN_ENTRANCE]->(:Entrance)-[:PART_OF]->(:Place:Building)``;
``(:Person)-[:OWNS]->(:Household)``, ``(:Person)-[:RESIDES_IN]->(:Household)``,
``(:Person)-[:KEEPS_IN_TOUCH_WITH]->(:Household)`` (the representative). Entrances are made by their first
household. Every write is a few ``UNWIND`` statements whatever the number of households (imports, seeding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from civicgrid_orggraph.adapters.tx_base import TxBase
from civicgrid_orggraph.domain.households import Household
from civicgrid_orggraph.service_layer.ports import PersonRecord

_READ: LiteralString = "UNWIND $codes AS code MATCH (h:Household {code: code}) RETURN properties(h) AS h"
_SAVE: LiteralString = (
    "UNWIND $rows AS row MATCH (b:Place {code: row.building_code}) "
    "MERGE (e:Entrance {code: row.entrance_code}) "
    "ON CREATE SET e.building_code = row.building_code, e.number = row.entrance, "
    "e.community_code = row.community_code "
    "MERGE (e)-[:PART_OF]->(b) "
    "MERGE (h:Household {code: row.code}) ON CREATE SET h.registered_at = datetime(), h.registered_by = $by "
    "SET h += row.props, h.updated_at = datetime() "
    "MERGE (h)-[:IN_ENTRANCE]->(e)"
)
_UNLINK: LiteralString = (
    "UNWIND $codes AS code MATCH (h:Household {code: code}) "
    "OPTIONAL MATCH (h)<-[r:OWNS|RESIDES_IN|KEEPS_IN_TOUCH_WITH]-(:Person) DELETE r"
)
_LINKS: dict[str, LiteralString] = {
    "owners": "UNWIND $links AS l MATCH (p:Person {id: l[0]}), (h:Household {code: l[1]}) "
    "CREATE (p)-[:OWNS]->(h)",
    "residents": "UNWIND $links AS l MATCH (p:Person {id: l[0]}), (h:Household {code: l[1]}) "
    "CREATE (p)-[:RESIDES_IN]->(h)",
    "representatives": "UNWIND $links AS l MATCH (p:Person {id: l[0]}), (h:Household {code: l[1]}) "
    "CREATE (p)-[:KEEPS_IN_TOUCH_WITH]->(h)",
}


def from_props(props: dict[str, Any]) -> Household:
    """A household from its node's properties: the person ids are kept on the node (in the order given)
    next to the relationships, which every write replaces in the same transaction."""
    return Household(
        code=props["code"],
        building_code=props["building_code"],
        compound_code=props.get("compound_code"),
        entrance=props["entrance"],
        unit_number=props["unit_number"],
        exclusive_area_m2=float(props["exclusive_area_m2"]),
        owner_ids=tuple(props.get("owner_ids") or ()),
        resident_ids=tuple(props.get("resident_ids") or ()),
        representative_id=props.get("representative_id"),
        version=int(props["version"]),
        active=bool(props["active"]),
    )


class HouseholdsTx(TxBase):
    async def get_households(self, codes: Sequence[str]) -> dict[str, Household]:
        rows = await self._rows(_READ, codes=list(codes))
        found = [from_props(r["h"]) for r in rows]
        return {h.code: h for h in found}

    async def save_households(self, households: Sequence[Household], recorded_by: str) -> None:
        if not households:
            return
        rows = [
            {
                "code": h.code,
                "building_code": h.building_code,
                "entrance_code": h.entrance_code,
                "entrance": h.entrance,
                "community_code": h.community_code,
                "props": {
                    "code": h.code,
                    "community_code": h.community_code,
                    "compound_code": h.compound_code,
                    "building_code": h.building_code,
                    "entrance_code": h.entrance_code,
                    "entrance": h.entrance,
                    "unit_number": h.unit_number,
                    "exclusive_area_m2": h.exclusive_area_m2,
                    "owner_ids": list(h.owner_ids),
                    "resident_ids": list(h.resident_ids),
                    "representative_id": h.representative_id,
                    "owner_count": len(h.owner_ids),
                    "version": h.version,
                    "active": True,
                    "removed_at": None,
                },
            }
            for h in households
        ]
        await self._exec(_SAVE, rows=rows, by=recorded_by)
        await self._exec(_UNLINK, codes=[h.code for h in households])
        links = {
            "owners": [[p, h.code] for h in households for p in h.owner_ids],
            "residents": [[p, h.code] for h in households for p in h.resident_ids],
            "representatives": [[h.representative_id, h.code] for h in households if h.representative_id],
        }
        for kind, pairs in links.items():
            if pairs:
                await self._exec(_LINKS[kind], links=pairs)

    async def remove_household(self, household: Household) -> None:
        await self._exec(_UNLINK, codes=[household.code])
        await self._exec(
            "MATCH (h:Household {code: $code}) SET h.active = false, h.version = $version, "
            "h.removed_at = datetime(), h.owner_ids = [], h.resident_ids = [], h.owner_count = 0, "
            "h.representative_id = null",
            code=household.code,
            version=household.version,
        )

    async def existing_people(self, person_ids: Sequence[str]) -> set[str]:
        if not person_ids:
            return set()
        rows = await self._rows(
            "UNWIND $ids AS id MATCH (p:Person {id: id}) RETURN p.id AS id", ids=sorted(set(person_ids))
        )
        return {r["id"] for r in rows}

    async def create_people(self, people: Sequence[PersonRecord], recorded_by: str) -> None:
        if not people:
            return
        rows = [
            {
                "id": p.person_id,
                "name": p.display_name,
                "party": p.party_member,
                "community": p.community_code,
            }
            for p in people
        ]
        await self._exec(
            "UNWIND $rows AS row MATCH (c:Place {code: row.community}) "
            "CREATE (p:Person {id: row.id, display_name: row.name, party_member: row.party, phone: null, "
            "id_hash: null, community_code: row.community, registered_at: datetime(), registered_by: $by})"
            "-[:LIVES_IN]->(c)",
            rows=rows,
            by=recorded_by,
        )
