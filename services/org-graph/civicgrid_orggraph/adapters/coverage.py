"""Coverage counts and gap lists for a region, computed in Neo4j with index-backed prefix scans."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, LiteralString

from civicgrid_orggraph.adapters.queries import Neo4jQueries
from civicgrid_orggraph.domain.coverage import TARGETS, CoverageCounts
from civicgrid_orggraph.domain.vocabulary import COMMUNITY_WORKER_POSTS, TWO_COMMITTEE_POSTS

_TWO_COMMITTEES = (
    "(m.post IN $two_committee_posts AND (m.org_kind IN ['residents_committee', 'villagers_committee'] OR "
    "(m.org_kind IN ['party_committee', 'party_general_branch', 'party_branch'] AND m.org_at_community)))"
)
_CURRENT = "m.start_date <= $today AND (m.end_date IS NULL OR m.end_date >= $today)"

COMPOUNDS = (
    "MATCH (c:Compound) WHERE c.code STARTS WITH $p AND c.active "
    "WITH c, EXISTS { (c)<-[:SERVES]-(o:Organisation {kind: 'party_branch'}) WHERE o.active } AS party, "
    "coalesce(c.a_owners_committee_eligible, false) AS eligible, "
    "EXISTS { (c)<-[:SERVES]-(o:Organisation {kind: 'owners_committee'}) WHERE o.active } AS owners "
    "RETURN count(c) AS compounds, sum(CASE WHEN party THEN 1 ELSE 0 END) AS with_party, "
    "sum(CASE WHEN eligible THEN 1 ELSE 0 END) AS eligible, "
    "sum(CASE WHEN eligible AND owners THEN 1 ELSE 0 END) AS eligible_with_owners"
)
BUILDINGS = "MATCH (b:Building) WHERE b.code STARTS WITH $p AND b.active RETURN count(b) AS buildings"
BUILDINGS_WITH_GROUP = (
    "MATCH (o:Organisation) WHERE o.kind = 'party_group' AND o.community_code STARTS WITH $p AND o.active "
    "AND o.place_code CONTAINS '-B' RETURN count(DISTINCT o.place_code) AS with_group"
)
BUILDINGS_IN_GRIDS = (
    "MATCH (g:Grid) WHERE g.id STARTS WITH $p RETURN "
    "coalesce(sum(COUNT { (g)<-[:IN_GRID]-() }), 0) AS in_grid"
)
COMMUNITIES = (
    "CALL () { MATCH (c:Community) WHERE c.code STARTS WITH $p AND c.active RETURN c "
    "UNION ALL MATCH (c:Village) WHERE c.code STARTS WITH $p AND c.active RETURN c } "
    "RETURN count(c) AS communities, sum(coalesce(c.a_residents, 0)) AS residents, "
    "sum(coalesce(c.a_households, 0)) AS households, sum(coalesce(c.a_service_area_m2, 0.0)) AS area"
)
WORKERS = (
    "MATCH (m:Membership) WHERE m.post IN $worker_posts AND m.community_code STARTS WITH $p "
    "AND NOT m.community_code ENDS WITH '000' AND m.org_at_community AND " + _CURRENT + " "
    "RETURN count(DISTINCT m.person_id) AS workers"
)
TWO_COMMITTEE_MEMBERS = (
    "MATCH (m:Membership) WHERE m.post IN $two_committee_posts AND m.community_code STARTS WITH $p AND "
    + _CURRENT
    + " AND "
    + _TWO_COMMITTEES
    + " RETURN collect(DISTINCT m.person_id) AS ids"
)
OUTSIDE_MEMBERS = (
    "MATCH (m:Membership) WHERE m.post IN ['owners_committee_chair', 'owners_committee_member', "
    "'property_manager'] AND m.community_code STARTS WITH $p AND " + _CURRENT + " "
    "RETURN m.person_id AS person, m.org_kind AS kind, m.org_id AS org"
)
OWNERS_COMMITTEES = (
    "MATCH (o:Organisation) WHERE o.kind = 'owners_committee' AND "
    "o.community_code STARTS WITH $p AND o.active "
    "RETURN count(o) AS n"
)

GAPS: dict[str, LiteralString] = {
    "compounds_without_party_organisation": (
        "MATCH (c:Compound) WHERE c.code STARTS WITH $p AND c.active AND NOT EXISTS "
        "{ (c)<-[:SERVES]-(o:Organisation {kind: 'party_branch'}) WHERE o.active } "
        "RETURN c.code AS code, c.name AS name, c.parent_code AS community_code ORDER BY c.code "
        "SKIP $offset LIMIT $limit"
    ),
    "buildings_without_party_group": (
        "MATCH (b:Building) WHERE b.code STARTS WITH $p AND b.active AND NOT EXISTS "
        "{ (b)<-[:SERVES]-(o:Organisation {kind: 'party_group'}) WHERE o.active } "
        "RETURN b.code AS code, b.name AS name, left(b.code, 12) AS community_code ORDER BY b.code "
        "SKIP $offset LIMIT $limit"
    ),
    "eligible_compounds_without_owners_committee": (
        "MATCH (c:Compound) WHERE c.code STARTS WITH $p AND c.active AND c.a_owners_committee_eligible "
        "AND NOT EXISTS { (c)<-[:SERVES]-(o:Organisation {kind: 'owners_committee'}) WHERE o.active } "
        "RETURN c.code AS code, c.name AS name, c.parent_code AS community_code ORDER BY c.code "
        "SKIP $offset LIMIT $limit"
    ),
    "buildings_without_grid": (
        "MATCH (b:Building) WHERE b.code STARTS WITH $p AND b.active AND NOT "
        "EXISTS { (b)-[:IN_GRID]->(:Grid) } "
        "RETURN b.code AS code, b.name AS name, left(b.code, 12) AS community_code ORDER BY b.code "
        "SKIP $offset LIMIT $limit"
    ),
    "communities_below_worker_standard": (
        "MATCH (c:Community) WHERE c.code STARTS WITH $p AND c.active AND coalesce(c.a_residents, 0) > 0 "
        "CALL (c) { MATCH (m:Membership {community_code: c.code}) WHERE m.post "
        "IN $worker_posts AND m.org_at_community AND "
        + _CURRENT
        + " RETURN count(DISTINCT m.person_id) AS workers } "
        "WITH c, workers, workers * 10000.0 / c.a_residents AS per_10000 WHERE per_10000 < $target "
        "RETURN c.code AS code, c.name AS name, c.code AS community_code, "
        "workers, c.a_residents AS residents, "
        "round(per_10000, 2) AS per_10000 ORDER BY c.code SKIP $offset LIMIT $limit"
    ),
    "communities_below_service_area_standard": (
        "MATCH (c:Community) WHERE c.code STARTS WITH $p AND c.active AND coalesce(c.a_households, 0) > 0 "
        "WITH c, coalesce(c.a_service_area_m2, 0.0) * 100.0 / c.a_households AS per_100 "
        "WHERE per_100 < $target "
        "RETURN c.code AS code, c.name AS name, c.code AS community_code, c.a_households AS households, "
        "c.a_service_area_m2 AS service_area_m2, round(per_100, 2) AS per_100_households ORDER BY c.code "
        "SKIP $offset LIMIT $limit"
    ),
}
_GAP_TARGETS = {
    "communities_below_worker_standard": TARGETS["community_workers_per_10000_residents"],
    "communities_below_service_area_standard": TARGETS["service_area_m2_per_100_households"],
}


class Neo4jCoverage:
    def __init__(self, queries: Neo4jQueries) -> None:
        self._q = queries

    async def counts(self, prefix: str) -> CoverageCounts:
        params: dict[str, Any] = {
            "p": prefix,
            "today": date.today(),
            "worker_posts": sorted(COMMUNITY_WORKER_POSTS),
            "two_committee_posts": sorted(TWO_COMMITTEE_POSTS),
        }
        queries = (
            COMPOUNDS,
            BUILDINGS,
            BUILDINGS_WITH_GROUP,
            BUILDINGS_IN_GRIDS,
            COMMUNITIES,
            WORKERS,
            TWO_COMMITTEE_MEMBERS,
            OUTSIDE_MEMBERS,
            OWNERS_COMMITTEES,
        )
        results = await asyncio.gather(*(self._q.rows(q, **params) for q in queries))
        cp, bd, bg, bgrid, cm, wk, two_row, _, oc = (r[0] if r else {} for r in results)
        outside = results[7]
        two = set(two_row["ids"])
        crossing = {r["person"] for r in outside if r["person"] in two}
        owners_with_two = {
            r["org"] for r in outside if r["kind"] == "owners_committee" and r["person"] in two
        }
        return CoverageCounts(
            communities=cm["communities"],
            compounds=cp["compounds"],
            compounds_with_party_organisation=cp["with_party"],
            buildings=bd["buildings"],
            buildings_with_party_group=bg["with_group"],
            buildings_without_grid=max(0, bd["buildings"] - bgrid["in_grid"]),
            eligible_compounds=cp["eligible"],
            eligible_compounds_with_owners_committee=cp["eligible_with_owners"],
            residents=cm["residents"],
            households=cm["households"],
            community_workers=wk["workers"],
            service_area_m2=float(cm["area"]),
            owners_committees=oc["n"],
            owners_committees_with_two_committee_member=len(owners_with_two),
            two_committee_members=len(two),
            two_committee_members_cross_appointed=len(crossing),
        )

    async def gaps(self, prefix: str, metric: str, offset: int, limit: int) -> list[dict[str, Any]]:
        return await self._q.rows(
            GAPS[metric],
            p=prefix,
            offset=offset,
            limit=limit,
            today=date.today(),
            worker_posts=sorted(COMMUNITY_WORKER_POSTS),
            target=_GAP_TARGETS.get(metric, 0.0),
        )
