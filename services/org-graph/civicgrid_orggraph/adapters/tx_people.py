"""Organisations, people, posts and memberships inside one Neo4j managed transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from civicgrid_orggraph.adapters import records
from civicgrid_orggraph.adapters.tx_base import TxBase
from civicgrid_orggraph.domain.codes import community_of
from civicgrid_orggraph.domain.cross_appointments import Holding
from civicgrid_orggraph.domain.shapes import OrgRef
from civicgrid_orggraph.domain.vocabulary import EndReason, PostKind
from civicgrid_orggraph.service_layer.ports import (
    MembershipRecord,
    NewMembership,
    OrgRecord,
    PersonRecord,
)
from civicgrid_runtime.stores import neo4j as runtime_store

_ACTIVE_ON = "m.start_date <= $on AND (m.end_date IS NULL OR m.end_date >= $on)"
_NOT_ENDED_BY = "(m.end_date IS NULL OR m.end_date >= $on)"
"""Terms held on ``$on`` or starting later: those an open-ended term from ``$on`` would overlap."""


class PeopleTx(TxBase):
    # organisations ----------------------------------------------------------------------------
    async def get_org(self, org_id: str) -> OrgRecord | None:
        row = await self._one(
            "MATCH (o:Organisation {id: $id})-[:SERVES]->(p:Place) "
            "RETURN properties(o) AS o, properties(p) AS p",
            id=org_id,
        )
        return records.org(row["o"], row["p"]) if row else None

    async def rename_org(self, org_id: str, name: str) -> None:
        await self._exec(
            "MATCH (o:Organisation {id: $id}) SET o.name = $name, o.updated_at = datetime()",
            id=org_id,
            name=name,
        )

    async def active_orgs_at(self, place_code: str) -> list[OrgRef]:
        rows = await self._rows(
            "MATCH (o:Organisation)-[:SERVES]->(p:Place {code: $code}) WHERE o.active "
            "RETURN properties(o) AS o, properties(p) AS p",
            code=place_code,
        )
        return [records.org_ref(r["o"], r["p"]) for r in rows]

    async def create_org(self, org: OrgRecord, formed_on: date, recorded_by: str) -> None:
        await self._exec(
            "MATCH (p:Place {code: $place}) "
            "CREATE (o:Organisation {id: $id, kind: $kind, name: $name, place_code: $place, "
            "community_code: $community, parent_id: $parent, active: true, formed_on: $formed, "
            "recorded_by: $by})-[:SERVES]->(p) "
            "WITH o OPTIONAL MATCH (parent:Organisation {id: $parent}) "
            "FOREACH (_ IN CASE WHEN parent IS NULL THEN [] ELSE [1] END | "
            "CREATE (o)-[:SUB_ORGANISATION_OF]->(parent))",
            id=org.ref.org_id,
            kind=org.ref.kind.value,
            name=org.name,
            place=org.ref.place.code,
            community=community_of(org.ref.place.code),
            parent=org.parent_org_id,
            formed=formed_on,
            by=recorded_by,
        )

    async def dissolve_org(self, org_id: str, on: date, reason: str | None, successor: str | None) -> None:
        await self._exec(
            "MATCH (o:Organisation {id: $id}) SET o.active = false, o.dissolved_on = $on, "
            "o.dissolution_reason = $reason, o.successor_id = $successor",
            id=org_id,
            on=on,
            reason=reason,
            successor=successor,
        )

    async def active_children_of_org(self, org_id: str) -> list[str]:
        rows = await self._rows(
            "MATCH (c:Organisation)-[:SUB_ORGANISATION_OF]->(:Organisation {id: $id}) WHERE c.active "
            "RETURN c.id AS id LIMIT 20",
            id=org_id,
        )
        return [r["id"] for r in rows]

    # people -----------------------------------------------------------------------------------
    async def get_person(self, person_id: str) -> PersonRecord | None:
        row = await self._one("MATCH (p:Person {id: $id}) RETURN properties(p) AS p", id=person_id)
        return records.person(row["p"]) if row else None

    async def person_by_id_hash(self, id_hash: str) -> PersonRecord | None:
        row = await self._one("MATCH (p:Person {id_hash: $h}) RETURN properties(p) AS p", h=id_hash)
        return records.person(row["p"]) if row else None

    async def create_person(self, person: PersonRecord, id_hash: str | None, recorded_by: str) -> None:
        await self._exec(
            "MATCH (c:Place {code: $community}) "
            "CREATE (p:Person {id: $id, display_name: $name, party_member: $party, phone: $phone, "
            "id_hash: $hash, community_code: $community, registered_at: datetime(), registered_by: $by})"
            "-[:LIVES_IN]->(c)",
            id=person.person_id,
            name=person.display_name,
            party=person.party_member,
            phone=person.phone,
            hash=id_hash,
            community=person.community_code,
            by=recorded_by,
        )

    # posts and memberships ------------------------------------------------------------------
    async def ensure_post(self, post_id: str, org_id: str, post: PostKind, scope_code: str | None) -> None:
        await self._exec(
            "MATCH (o:Organisation {id: $org}) "
            "MERGE (p:Post {id: $id}) ON CREATE SET p.org_id = $org, p.post = $post, p.scope_code = $scope, "
            "p.community_code = CASE WHEN $scope IS NULL THEN o.community_code ELSE left($scope, 12) END, "
            "p.created_at = datetime() "
            "MERGE (p)-[:POST_IN]->(o) "
            "WITH p OPTIONAL MATCH (g:Grid {id: $scope}) OPTIONAL MATCH (b:Place {code: $scope}) "
            "FOREACH (s IN [x IN [g, b] WHERE x IS NOT NULL] | MERGE (p)-[:COVERS]->(s))",
            id=post_id,
            org=org_id,
            post=post.value,
            scope=scope_code,
        )

    async def holders_of_post(self, post_id: str, on: date, onwards: bool = False) -> list[MembershipRecord]:
        active = _NOT_ENDED_BY if onwards else _ACTIVE_ON
        rows = await self._rows(
            f"MATCH (m:Membership)-[:OF_POST]->(:Post {{id: $id}}) WHERE {active} "
            "RETURN properties(m) AS m ORDER BY m.start_date",
            id=post_id,
            on=on,
        )
        return [records.membership(r["m"]) for r in rows]

    async def holdings_of(self, person_id: str, on: date) -> list[Holding]:
        rows = await self._rows(
            "MATCH (:Person {id: $id})-[:HOLDS]->(m:Membership)-[:OF_POST]->(:Post)-[:POST_IN]->"
            f"(o:Organisation)-[:SERVES]->(p:Place) WHERE {_ACTIVE_ON} "
            "RETURN m.id AS mid, m.post AS post, properties(o) AS o, properties(p) AS p",
            id=person_id,
            on=on,
        )
        return [Holding(r["mid"], PostKind(r["post"]), records.org_ref(r["o"], r["p"])) for r in rows]

    async def get_membership(self, membership_id: str) -> MembershipRecord | None:
        row = await self._one("MATCH (m:Membership {id: $id}) RETURN properties(m) AS m", id=membership_id)
        return records.membership(row["m"]) if row else None

    async def create_membership(self, membership: NewMembership) -> None:
        m = membership
        await self._exec(
            "MATCH (person:Person {id: $person}), (post:Post {id: $post_id}) "
            "CREATE (person)-[:HOLDS]->(m:Membership {id: $id, person_id: $person, post_id: $post_id, "
            "post: $post, org_id: $org, scope_code: $scope, community_code: $community, start_date: $start, "
            "term_end_date: $term_end, basis: $basis, basis_reference: $reference, "
            "cross_appointment: $cross, recorded_by: $by, recorded_at: datetime()})-[:OF_POST]->(post) "
            "WITH m MATCH (o:Organisation {id: $org}) "
            "SET m.org_kind = o.kind, m.org_at_community = (o.place_code = o.community_code)",
            id=m.membership_id,
            person=m.person_id,
            post_id=m.post_id,
            post=m.post.value,
            org=m.org_id,
            scope=m.scope_code,
            community=m.community_code,
            start=m.start_date,
            term_end=m.term_end_date,
            basis=m.basis.value,
            reference=m.basis_reference,
            cross=m.cross_appointment,
            by=m.recorded_by,
        )

    async def end_membership(
        self, membership_id: str, end: date, reason: EndReason, note: str | None
    ) -> None:
        await self._exec(
            "MATCH (m:Membership {id: $id}) SET m.end_date = $end, m.end_reason "
            "= $reason, m.end_note = $note",
            id=membership_id,
            end=end,
            reason=reason.value,
            note=note,
        )

    async def open_memberships_of_org(self, org_id: str) -> list[MembershipRecord]:
        rows = await self._rows(
            "MATCH (m:Membership)-[:OF_POST]->(:Post)-[:POST_IN]->(:Organisation {id: $id}) "
            "WHERE m.end_date IS NULL RETURN properties(m) AS m",
            id=org_id,
        )
        return [records.membership(r["m"]) for r in rows]

    async def record_flag(
        self, rule: str, person_id: str, membership_ids: Sequence[str], details: str
    ) -> None:
        await self._exec(
            "MATCH (p:Person {id: $person}) "
            "CREATE (p)<-[:CONCERNS]-(:CrossAppointmentFlag {rule: $rule, person_id: $person, "
            "membership_ids: $memberships, details: $details, community_code: p.community_code, "
            "flagged_at: datetime(), open: true})",
            rule=rule,
            person=person_id,
            memberships=list(membership_ids),
            details=details,
        )

    # inbound events ---------------------------------------------------------------------------
    async def claim_event(self, consumer: str, event_id: str) -> bool:
        return await runtime_store.claim_event(self._tx, consumer, event_id)
