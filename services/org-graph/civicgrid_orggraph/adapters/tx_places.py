"""Places, grids and bulk place writes inside one Neo4j managed transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from civicgrid_orggraph.adapters import records
from civicgrid_orggraph.adapters.records import ATTRIBUTE_PREFIX
from civicgrid_orggraph.adapters.schema import KIND_LABELS
from civicgrid_orggraph.adapters.tx_base import TxBase
from civicgrid_orggraph.domain.codes import community_of
from civicgrid_orggraph.service_layer.ports import (
    GridRecord,
    MembershipRecord,
    PlaceRecord,
)


class PlacesTx(TxBase):
    # places ---------------------------------------------------------------------------------
    async def get_place(self, code: str) -> PlaceRecord | None:
        row = await self._one("MATCH (p:Place {code: $code}) RETURN properties(p) AS p", code=code)
        return records.place(row["p"]) if row else None

    async def create_place(self, place: PlaceRecord, recorded_by: str) -> None:
        label = KIND_LABELS[place.kind.value]
        attributes = {ATTRIBUTE_PREFIX + k: v for k, v in place.attributes.items() if v is not None}
        query: LiteralString = (
            f"CREATE (p:Place:{label} {{code: $code, kind: $kind, name: $name, parent_code: $parent, "
            "community_code: $community, active: true, registered_at: datetime(), registered_by: $by}) "
            "SET p += $attributes "
            "WITH p OPTIONAL MATCH (parent:Place {code: $parent}) "
            "FOREACH (_ IN CASE WHEN parent IS NULL THEN [] ELSE [1] END | CREATE (p)-[:PART_OF]->(parent))"
        )
        await self._exec(
            query,
            code=place.code,
            kind=place.kind.value,
            name=place.name,
            parent=place.parent_code,
            community=community_of(place.code),
            by=recorded_by,
            attributes=attributes,
        )

    async def update_place(self, code: str, name: str | None, attributes: dict[str, Any]) -> None:
        props = {ATTRIBUTE_PREFIX + k: v for k, v in attributes.items()}
        await self._exec(
            "MATCH (p:Place {code: $code}) SET p += $props, p.name = coalesce($name, p.name), "
            "p.updated_at = datetime()",
            code=code,
            props=props,
            name=name,
        )

    async def dissolve_place(self, code: str, merged_into: str | None, reason: str | None) -> None:
        await self._exec(
            "MATCH (p:Place {code: $code}) SET p.active = false, p.dissolved_at = datetime(), "
            "p.merged_into = $merged, p.dissolution_reason = $reason "
            "WITH p OPTIONAL MATCH (p)-[r:IN_GRID]->() DELETE r",
            code=code,
            merged=merged_into,
            reason=reason,
        )

    async def active_dependants(self, code: str) -> list[str]:
        rows = await self._rows(
            "MATCH (p:Place {code: $code}) "
            "CALL (p) { MATCH (c:Place)-[:PART_OF]->(p) WHERE c.active RETURN c.code AS dep "
            "UNION MATCH (o:Organisation)-[:SERVES]->(p) WHERE o.active RETURN o.id AS dep "
            "UNION MATCH (g:Grid)-[:GRID_IN]->(p) WHERE g.active RETURN g.id AS dep "
            "UNION MATCH (h:Household {building_code: p.code}) WHERE h.active RETURN h.code AS dep } "
            "RETURN dep LIMIT 20",
            code=code,
        )
        return [r["dep"] for r in rows]

    # grids ----------------------------------------------------------------------------------
    async def get_grid(self, grid_id: str) -> GridRecord | None:
        row = await self._one("MATCH (g:Grid {id: $id}) RETURN properties(g) AS g", id=grid_id)
        if row is None:
            return None
        g = row["g"]
        return GridRecord(g["id"], g["name"], g["community_code"], bool(g["active"]))

    async def create_grid(self, grid: GridRecord, covers: str, recorded_by: str) -> None:
        await self._exec(
            "MATCH (c:Place {code: $community}) "
            "CREATE (g:Grid {id: $id, name: $name, community_code: $community, covers: $covers, "
            "active: true, defined_at: datetime(), defined_by: $by})-[:GRID_IN]->(c)",
            id=grid.grid_id,
            name=grid.name,
            community=grid.community_code,
            covers=covers,
            by=recorded_by,
        )

    async def grid_of_building(self, building_code: str) -> str | None:
        row = await self._one(
            "MATCH (:Place {code: $code})-[:IN_GRID]->(g:Grid) RETURN g.id AS id", code=building_code
        )
        return row["id"] if row else None

    async def set_building_grid(self, building_code: str, grid_id: str) -> None:
        await self._exec(
            "MATCH (b:Place {code: $code}), (g:Grid {id: $grid}) "
            "OPTIONAL MATCH (b)-[old:IN_GRID]->() DELETE old "
            "CREATE (b)-[:IN_GRID {since: datetime()}]->(g)",
            code=building_code,
            grid=grid_id,
        )

    async def rename_grid(self, grid_id: str, name: str) -> None:
        await self._exec(
            "MATCH (g:Grid {id: $id}) SET g.name = $name, g.updated_at = datetime()", id=grid_id, name=name
        )

    async def dissolve_grid(self, grid_id: str, reason: str | None) -> None:
        await self._exec(
            "MATCH (g:Grid {id: $id}) SET g.active = false, g.dissolved_at = "
            "datetime(), g.dissolution_reason = $r",
            id=grid_id,
            r=reason,
        )

    async def buildings_in_grid(self, grid_id: str) -> list[str]:
        rows = await self._rows(
            "MATCH (b:Place)-[:IN_GRID]->(:Grid {id: $id}) RETURN b.code AS code ORDER BY code LIMIT 20",
            id=grid_id,
        )
        return [r["code"] for r in rows]

    async def open_memberships_of_grid(self, grid_id: str) -> list[MembershipRecord]:
        rows = await self._rows(
            "MATCH (m:Membership)-[:OF_POST]->(:Post)-[:COVERS]->(:Grid {id: $id}) "
            "WHERE m.end_date IS NULL RETURN properties(m) AS m",
            id=grid_id,
        )
        return [records.membership(r["m"]) for r in rows]

    # bulk (imports) -----------------------------------------------------------------------------
    async def get_places(self, codes: Sequence[str]) -> dict[str, PlaceRecord]:
        rows = await self._rows(
            "UNWIND $codes AS code MATCH (p:Place {code: code}) RETURN properties(p) AS p", codes=list(codes)
        )
        found = [records.place(r["p"]) for r in rows]
        return {p.code: p for p in found}

    async def create_places(self, places: Sequence[PlaceRecord], recorded_by: str) -> None:
        for kind, label in KIND_LABELS.items():
            batch = [
                {
                    "code": p.code,
                    "kind": kind,
                    "name": p.name,
                    "parent": p.parent_code,
                    "community": community_of(p.code),
                    "attributes": {ATTRIBUTE_PREFIX + k: v for k, v in p.attributes.items() if v is not None},
                }
                for p in places
                if p.kind.value == kind
            ]
            if not batch:
                continue
            query: LiteralString = (
                f"UNWIND $rows AS row CREATE (p:Place:{label} "
                "{code: row.code, kind: row.kind, name: row.name, "
                "parent_code: row.parent, community_code: row.community, active: true, "
                "registered_at: datetime(), registered_by: $by}) SET p += row.attributes "
                "WITH p, row MATCH (parent:Place {code: row.parent}) CREATE (p)-[:PART_OF]->(parent)"
            )
            await self._exec(query, rows=batch, by=recorded_by)

    async def get_grids(self, grid_ids: Sequence[str]) -> dict[str, GridRecord]:
        rows = await self._rows(
            "UNWIND $ids AS id MATCH (g:Grid {id: id}) RETURN properties(g) AS g", ids=list(grid_ids)
        )
        return {
            r["g"]["id"]: GridRecord(
                r["g"]["id"], r["g"]["name"], r["g"]["community_code"], bool(r["g"]["active"])
            )
            for r in rows
        }

    async def grids_of_buildings(self, codes: Sequence[str]) -> dict[str, str]:
        rows = await self._rows(
            "UNWIND $codes AS code MATCH (:Place {code: "
            "code})-[:IN_GRID]->(g:Grid) RETURN code, g.id AS grid",
            codes=list(codes),
        )
        return {r["code"]: r["grid"] for r in rows}

    async def set_building_grids(self, pairs: Sequence[tuple[str, str]]) -> None:
        await self._exec(
            "UNWIND $pairs AS pair MATCH (b:Place {code: pair[0]}), (g:Grid {id: pair[1]}) "
            "OPTIONAL MATCH (b)-[old:IN_GRID]->() DELETE old "
            "CREATE (b)-[:IN_GRID {since: datetime()}]->(g)",
            pairs=[list(p) for p in pairs],
        )
