"""Read queries over the org graph: each is one Cypher round trip (indexed by code or id)."""

from __future__ import annotations

from datetime import date
from typing import Any, LiteralString

from neo4j import AsyncDriver, Query

from civicgrid_orggraph.adapters.household_queries import HouseholdQueries
from civicgrid_orggraph.adapters.records import attributes_of

_ON = "m.start_date <= $on AND (m.end_date IS NULL OR m.end_date >= $on)"
_HOLDER = (
    "{membership_id: m.id, person_id: person.id, display_name: person.display_name, "
    "party_member: person.party_member, start_date: toString(m.start_date), "
    "end_date: toString(m.end_date), basis: m.basis, basis_reference: m.basis_reference, "
    "cross_appointment: m.cross_appointment}"
)

CHAIN = (
    "MATCH (b:Building {code: $code}) "
    "OPTIONAL MATCH (b)-[:IN_GRID]->(g:Grid) "
    "OPTIONAL MATCH (b)-[:PART_OF]->(cp:Compound) "
    "OPTIONAL MATCH (c:Place {code: left($code, 12)}) "
    "CALL (b, g, cp, c) { "
    "  MATCH (b)<-[:COVERS]-(post:Post {post: 'building_head'}) RETURN post, 'building_head' AS role "
    "  UNION MATCH (g)<-[:COVERS]-(post:Post) WHERE post.post IN ['grid_worker', 'grid_leader'] "
    "    RETURN post, post.post AS role "
    "  UNION MATCH (g)<-[:COVERS]-(post:Post {post: 'grid_contact_leader'}) "
    "RETURN post, 'township_leader' AS role "
    "  UNION MATCH (cp)<-[:SERVES]-(o:Organisation {kind: "
    "'party_branch'})<-[:POST_IN]-(post:Post {post: 'secretary'}) "
    "    WHERE o.active RETURN post, 'compound_branch_secretary' AS role "
    "  UNION MATCH (c)<-[:SERVES]-(o:Organisation)<-[:POST_IN]-(post:Post) WHERE o.active AND ( "
    "    (o.kind IN ['party_committee', 'party_general_branch', 'party_branch'] AND post.post = 'secretary') "
    "    OR (o.kind IN ['residents_committee', 'villagers_committee'] AND post.post = 'director')) "
    "    RETURN post, CASE WHEN post.post = 'secretary' THEN 'community_secretary' "
    "      ELSE 'residents_committee_director' END AS role "
    "} "
    "MATCH (post)<-[:OF_POST]-(m:Membership)<-[:HOLDS]-(person:Person) WHERE " + _ON + " "
    "RETURN b.code AS building_code, b.name AS building_name, b.active AS active, g.id AS grid_id, "
    "g.name AS grid_name, cp.code AS compound_code, cp.name AS compound_name, "
    "collect({role: role, post_id: post.id, org_id: post.org_id, membership_id: m.id, person_id: person.id, "
    "display_name: person.display_name, phone: person.phone, since: toString(m.start_date)}) AS chain"
)


class Neo4jQueries(HouseholdQueries):
    def __init__(self, driver: AsyncDriver, database: str | None = None) -> None:
        self._driver = driver
        self._database = database

    async def rows(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = await self._driver.execute_query(
            Query(query), params, database_=self._database, routing_="r"
        )
        return [r.data() for r in records]

    async def ping(self) -> None:
        await self.rows("RETURN 1 AS one")

    async def place(self, code: str) -> dict[str, Any] | None:
        rows = await self.rows(
            "MATCH (p:Place {code: $code}) OPTIONAL MATCH (p)-[:IN_GRID]->(g:Grid) "
            "RETURN properties(p) AS p, g.id AS grid_id",
            code=code,
        )
        if not rows:
            return None
        p = rows[0]["p"]
        return {
            "code": p["code"],
            "kind": p["kind"],
            "name": p["name"],
            "parent_code": p.get("parent_code"),
            "active": p.get("active", True),
            "attributes": attributes_of(p),
            "grid_id": rows[0]["grid_id"],
        }

    async def responsibility_chain(self, building_code: str, on: date) -> dict[str, Any] | None:
        rows = await self.rows(CHAIN, code=building_code, on=on)
        if rows:
            return rows[0]
        exists = await self.rows("MATCH (b:Building {code: $code}) RETURN b.name AS name", code=building_code)
        if not exists:
            return None
        base = await self.rows(
            "MATCH (b:Building {code: $code}) OPTIONAL MATCH (b)-[:IN_GRID]->(g:Grid) "
            "OPTIONAL MATCH (b)-[:PART_OF]->(cp:Compound) "
            "RETURN b.code AS building_code, b.name AS building_name, b.active AS active, g.id AS grid_id, "
            "g.name AS grid_name, cp.code AS compound_code, cp.name AS compound_name, [] AS chain",
            code=building_code,
        )
        return base[0]

    async def community_tree(self, code: str) -> dict[str, Any]:
        places = await self.rows(
            "MATCH (p:Place) WHERE p.code STARTS WITH $code AND p.active "
            "OPTIONAL MATCH (p)-[:IN_GRID]->(g:Grid) "
            "RETURN p.code AS code, p.kind AS kind, p.name AS name, p.parent_code AS parent_code, "
            "g.id AS grid_id ORDER BY p.code",
            code=code,
        )
        grids = await self.rows(
            "MATCH (g:Grid {community_code: $code}) WHERE g.active "
            "OPTIONAL MATCH (b:Place)-[:IN_GRID]->(g) "
            "RETURN g.id AS grid_id, g.name AS name, g.covers AS covers, collect(b.code) AS building_codes "
            "ORDER BY grid_id",
            code=code,
        )
        orgs = await self.rows(
            "MATCH (o:Organisation) WHERE o.community_code = $code AND o.active "
            "OPTIONAL MATCH (post:Post)-[:POST_IN]->(o) "
            "OPTIONAL MATCH (post)<-[:OF_POST]-(m:Membership)<-[:HOLDS]-(person:Person) WHERE " + _ON + " "
            "WITH o, post, collect(CASE WHEN person IS NULL THEN NULL ELSE " + _HOLDER + " END) AS holders "
            "WITH o, collect(CASE WHEN post IS NULL THEN NULL ELSE "
            "{post_id: post.id, post: post.post, scope_code: post.scope_code, "
            "holders: holders} END) AS posts "
            "RETURN o.id AS org_id, o.kind AS kind, o.name AS name, o.place_code AS place_code, "
            "o.parent_id AS parent_org_id, posts ORDER BY o.place_code, o.kind",
            code=code,
            on=date.today(),
        )
        return {"places": places, "grids": grids, "organisations": orgs}

    async def person_posts(self, person_id: str, on: date | None) -> list[dict[str, Any]]:
        condition = _ON if on is not None else "true"
        return await self.rows(
            "MATCH (person:Person {id: $id})-[:HOLDS]->(m:Membership)-[:OF_POST]->(post:Post)-[:POST_IN]->"
            "(o:Organisation) WHERE " + condition + " "
            "RETURN m.id AS membership_id, post.id AS post_id, post.post AS "
            "post, post.scope_code AS scope_code, "
            "o.id AS org_id, o.name AS org_name, o.kind AS org_kind, o.place_code AS place_code, "
            "toString(m.start_date) AS start_date, toString(m.end_date) AS end_date, "
            "toString(m.term_end_date) AS term_end_date, m.end_reason AS end_reason, m.basis AS basis, "
            "m.basis_reference AS basis_reference, m.cross_appointment AS cross_appointment "
            "ORDER BY m.start_date, m.id",
            id=person_id,
            on=on,
        )

    async def person(self, person_id: str) -> dict[str, Any] | None:
        rows = await self.rows(
            "MATCH (p:Person {id: $id}) RETURN p.id AS person_id, p.display_name AS display_name, "
            "p.party_member AS party_member, p.phone AS phone, p.community_code AS community_code",
            id=person_id,
        )
        return rows[0] if rows else None

    async def post_holders(self, post_id: str, on: date | None) -> dict[str, Any] | None:
        condition = _ON if on is not None else "true"
        rows = await self.rows(
            "MATCH (post:Post {id: $id})-[:POST_IN]->(o:Organisation) "
            "OPTIONAL MATCH (post)<-[:OF_POST]-(m:Membership)<-[:HOLDS]-(person:Person) WHERE "
            + condition
            + " "
            "WITH post, o, m, person ORDER BY m.start_date "
            "RETURN post.id AS post_id, post.post AS post, post.scope_code AS scope_code, o.id AS org_id, "
            "o.name AS org_name, o.community_code AS community_code, "
            "collect(CASE WHEN person IS NULL THEN NULL ELSE " + _HOLDER + " END) AS holders",
            id=post_id,
            on=on,
        )
        return rows[0] if rows else None

    async def grid_members(self, grid_id: str, on: date) -> dict[str, Any] | None:
        rows = await self.rows(
            "MATCH (g:Grid {id: $id}) "
            "CALL (g) { OPTIONAL MATCH (b:Place)-[:IN_GRID]->(g) "
            "  RETURN collect(CASE WHEN b IS NULL THEN NULL ELSE {code: b.code, name: b.name} END) "
            "  AS buildings } "
            "CALL (g) { OPTIONAL MATCH "
            "(g)<-[:COVERS]-(post:Post)<-[:OF_POST]-(m:Membership)<-[:HOLDS]-(person:Person) "
            "  WHERE " + _ON + " "
            "  RETURN collect(CASE WHEN person IS NULL THEN NULL ELSE {post: post.post, post_id: post.id, "
            "  person_id: person.id, display_name: person.display_name, phone: person.phone, "
            "  since: toString(m.start_date)} END) AS staff } "
            "RETURN g.id AS grid_id, g.name AS name, g.community_code AS community_code, g.covers AS covers, "
            "g.active AS active, buildings, staff",
            id=grid_id,
            on=on,
        )
        return rows[0] if rows else None

    async def two_committees(self, community_code: str, on: date) -> list[dict[str, Any]]:
        return await self.rows(
            "MATCH (o:Organisation)-[:SERVES]->(:Place {code: $code}) WHERE o.active AND o.kind IN "
            "['party_committee', 'party_general_branch', 'party_branch', 'residents_committee', "
            "'villagers_committee'] "
            "OPTIONAL MATCH (o)<-[:POST_IN]-(post:Post)<-[:OF_POST]-(m:Membership)<-[:HOLDS]-(person:Person) "
            "WHERE " + _ON + " "
            "WITH o, post, m, person ORDER BY post.post, person.display_name "
            "RETURN o.id AS org_id, o.kind AS kind, o.name AS name, "
            "collect(CASE WHEN person IS NULL THEN NULL ELSE {post: post.post, post_id: post.id, "
            "person_id: person.id, display_name: person.display_name, party_member: person.party_member, "
            "since: toString(m.start_date), cross_appointment: m.cross_appointment} END) AS members "
            "ORDER BY o.kind",
            code=community_code,
            on=on,
        )

    async def organisation(self, org_id: str) -> dict[str, Any] | None:
        rows = await self.rows(
            "MATCH (o:Organisation {id: $id}) RETURN o.id AS org_id, o.kind AS kind, o.name AS name, "
            "o.place_code AS place_code, o.community_code AS community_code, o.parent_id AS parent_org_id, "
            "o.active AS active, toString(o.formed_on) AS formed_on, "
            "toString(o.dissolved_on) AS dissolved_on",
            id=org_id,
        )
        return rows[0] if rows else None

    async def roster(self, prefix: str) -> list[dict[str, Any]]:
        return await self.rows(
            "MATCH (b:Building) WHERE b.code STARTS WITH $p AND b.active "
            "OPTIONAL MATCH (b)-[:PART_OF]->(cp:Compound) OPTIONAL MATCH (b)-[:IN_GRID]->(g:Grid) "
            "RETURN left(b.code, 12) AS community_code, cp.code AS compound_code, cp.name AS compound_name, "
            "cp.a_owners_committee_eligible AS eligible, b.code AS building_code, b.name AS building_name, "
            "b.a_households AS households, g.id AS grid_id, g.name AS grid_name ORDER BY b.code",
            p=prefix,
        )

    async def post_roster(self, prefix: str, on: date) -> list[dict[str, Any]]:
        return await self.rows(
            "MATCH (m:Membership) WHERE m.community_code STARTS WITH $p AND " + _ON + " "
            "MATCH (person:Person {id: m.person_id}) "
            "RETURN person.id AS person_id, person.display_name AS display_name, "
            "person.community_code AS community_code, person.party_member AS party_member, "
            "person.phone AS phone, m.org_id AS org_id, m.post AS post, "
            "CASE WHEN m.scope_code =~ '[0-9]{15}' THEN m.scope_code END AS grid_id, "
            "CASE WHEN m.scope_code =~ '[0-9]{15}' THEN NULL ELSE m.scope_code END AS building_code, "
            "toString(m.start_date) AS start_date, toString(m.term_end_date) AS term_end_date, "
            "m.basis AS basis, m.basis_reference AS basis_reference ORDER BY "
            "m.community_code, m.org_id, m.post",
            p=prefix,
            on=on,
        )

    async def flags(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        return await self.rows(
            "MATCH (f:CrossAppointmentFlag) WHERE f.community_code STARTS WITH $prefix "
            "RETURN f.rule AS rule, f.person_id AS person_id, f.membership_ids AS membership_ids, "
            "f.details AS details, toString(f.flagged_at) AS flagged_at ORDER BY "
            "f.flagged_at DESC LIMIT $limit",
            prefix=prefix,
            limit=limit,
        )
