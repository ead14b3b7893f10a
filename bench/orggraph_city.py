"""org-graph at Wuhan scale: load a generated city, then time the queries the issue names.

    ./civicgrid bench orggraph_city [--scale 1.0] [--queries 2000] [--import-rows 5000] [--keep]

The generator follows DOMAIN.md's Wuhan figures at ``--scale 1.0``: 1,539 communities, ~8,330 compounds,
~100,000 buildings, ~30,000 building party groups, ~10,000 grids, ~480,000 people each holding a post.
Data goes to a fake city (code 4298) so it never mixes with real or test data, and is deleted at the
end unless ``--keep``. Prints JSON: load time; responsibility-chain p50/p99 against ``RETURN 1`` in
the same run; whole-city coverage report time; bulk import rows/s (CSV -> validation -> one transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, LiteralString

from neo4j import AsyncDriver

from civicgrid_orggraph.adapters.coverage import Neo4jCoverage
from civicgrid_orggraph.adapters.queries import Neo4jQueries
from civicgrid_orggraph.adapters.schema import ORG_GRAPH_SCHEMA
from civicgrid_orggraph.adapters.tabular import read_table
from civicgrid_orggraph.adapters.unit_of_work import Neo4jUnitOfWork
from civicgrid_orggraph.domain.coverage import indicators
from civicgrid_orggraph.domain.roster import COLUMNS, parse_roster
from civicgrid_orggraph.service_layer.roster import import_roster
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.stores.neo4j import create_driver, ensure_schema

CITY = "4298"
BATCH = 10_000
START = date(2021, 5, 1)


@dataclass
class City:
    places: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    grids: list[dict[str, Any]] = field(default_factory=list)
    in_grid: list[list[str]] = field(default_factory=list)
    orgs: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[str] = field(default_factory=list)

    def place(self, label: str, code: str, kind: str, name: str, parent: str | None, **attrs: Any) -> None:
        row = {
            "code": code,
            "kind": kind,
            "name": name,
            "parent": parent,
            "community": code[:12],
            "attributes": {f"a_{k}": v for k, v in attrs.items()},
        }
        self.places.setdefault(label, []).append(row)


class Generator:
    def __init__(self, scale: float, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.communities = max(1, round(1539 * scale))
        self.city = City()
        self.n_people = 0

    def _org(self, org_id: str, kind: str, place: str, name: str, parent: str | None, community: str) -> str:
        self.city.orgs.append(
            {
                "id": org_id,
                "kind": kind,
                "name": name,
                "place": place,
                "community": community,
                "parent": parent,
                "at_community": place == community,
            }
        )
        return org_id

    def _hold(
        self, org: dict[str, Any], post: str, scope: str | None, community: str, seats: int = 1
    ) -> None:
        org_id = org["id"]
        post_id = f"{org_id}:{post}" + (f":{scope}" if scope else "")
        self.city.posts.append(
            {"id": post_id, "org": org_id, "post": post, "scope": scope, "community": community}
        )
        for _ in range(seats):
            self.n_people += 1
            person = f"b-p{self.n_people}"
            self.city.people.append(
                {
                    "id": person,
                    "name": f"人员{self.n_people}",
                    "party": self.rng.random() < 0.3,
                    "community": community,
                }
            )
            self.city.memberships.append(
                {
                    "id": f"b-m{self.n_people}",
                    "person": person,
                    "post_id": post_id,
                    "post": post,
                    "org": org_id,
                    "scope": scope,
                    "community": community,
                    "org_kind": org["kind"],
                    "at_community": org["at_community"],
                }
            )

    def generate(self) -> City:
        c = self.city
        c.place("Province", "420000000000", "province", "湖北省", None)
        c.place("City", f"{CITY}00000000", "city", "基准市", "420000000000")
        districts = [f"{CITY}{d:02d}" for d in range(1, 14)]
        for d in districts:
            c.place("District", d.ljust(12, "0"), "district", f"区{d[-2:]}", f"{CITY}00000000")
        streets = [f"{districts[i % 13]}{100 + i // 13:03d}" for i in range(max(1, self.communities // 10))]
        for s in streets:
            c.place("Street", s.ljust(12, "0"), "street", f"街道{s[-5:]}", s[:6].ljust(12, "0"))
        for i in range(self.communities):
            street = streets[i % len(streets)]
            self._community(f"{street}{i // len(streets) + 1:03d}", street.ljust(12, "0"))
        return c

    def _community(self, code: str, street: str) -> None:
        c, rng = self.city, self.rng
        residents = rng.randint(6000, 12000)
        c.place(
            "Community",
            code,
            "community",
            f"社区{code[-6:]}",
            street,
            residents=residents,
            households=residents // 3,
            service_area_m2=float(rng.randint(500, 1800)),
        )
        party = self._org(f"{code}-party", "party_committee", code, "社区党委", None, code)
        residents_committee = self._org(f"{code}-rc", "residents_committee", code, "居委会", None, code)
        pc = {"id": party, "kind": "party_committee", "at_community": True}
        rc = {"id": residents_committee, "kind": "residents_committee", "at_community": True}
        self._hold(pc, "secretary", None, code)
        self._hold(rc, "director", None, code)
        self._hold(pc, "committee_member", None, code, seats=5)
        self._hold(rc, "committee_member", None, code, seats=5)
        buildings: list[str] = []
        for n in range(1, (6 if rng.random() < 0.41 else 5) + 1):
            compound = f"{code}-C{n:02d}"
            eligible = rng.random() < 0.85
            c.place("Compound", compound, "compound", f"小区{n}", code, owners_committee_eligible=eligible)
            branch: dict[str, Any] | None = None
            if rng.random() < 0.96:
                branch = {
                    "id": self._org(
                        f"{compound}-branch", "party_branch", compound, "小区党支部", party, code
                    ),
                    "kind": "party_branch",
                    "at_community": False,
                }
                self._hold(branch, "secretary", None, code)
            if eligible and rng.random() < 0.6:
                assembly = self._org(f"{compound}-oa", "owners_assembly", compound, "业主大会", None, code)
                owners = {
                    "id": self._org(f"{compound}-oc", "owners_committee", compound, "业委会", assembly, code),
                    "kind": "owners_committee",
                    "at_community": False,
                }
                self._hold(owners, "owners_committee_chair", None, code)
            self._org(f"{compound}-pc", "property_company", compound, "物业", None, code)
            for b in range(1, rng.randint(10, 14) + 1):
                building = f"{compound}-B{b:02d}"
                c.place("Building", building, "building", f"{b}栋", compound, households=rng.randint(20, 60))
                buildings.append(building)
                c.buildings.append(building)
                if branch is not None and rng.random() < 0.31:
                    group = {
                        "id": self._org(
                            f"{building}-pg", "party_group", building, "楼栋党小组", str(branch["id"]), code
                        ),
                        "kind": "party_group",
                        "at_community": False,
                    }
                    self._hold(group, "group_leader", None, code)
                self._hold(rc, "building_head", building, code)
                self._hold(rc, "residents_representative", building, code, seats=3)
        grids = 6 if rng.random() < 0.5 else 7
        size = -(-len(buildings) // grids)
        for g in range(grids):
            grid_id = f"{code}{g + 1:03d}"
            c.grids.append({"id": grid_id, "name": f"第{g + 1}网格", "community": code})
            c.in_grid += [[b, grid_id] for b in buildings[g * size : (g + 1) * size]]
            self._hold(rc, "grid_worker", grid_id, code)
            self._hold(rc, "grid_leader", grid_id, code)


def chunks(rows: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


LOADS: dict[str, LiteralString] = {
    "grids": "UNWIND $rows AS r MATCH (c:Place {code: r.community}) CREATE (g:Grid {id: r.id, name: r.name, "
    "community_code: r.community, covers: 'buildings', active: true})-[:GRID_IN]->(c)",
    "in_grid": "UNWIND $rows AS r MATCH (b:Building {code: r[0]}), (g:Grid {id: "
    "r[1]}) CREATE (b)-[:IN_GRID]->(g)",
    "orgs": "UNWIND $rows AS r MATCH (p:Place {code: r.place}) CREATE "
    "(o:Organisation {id: r.id, kind: r.kind, "
    "name: r.name, place_code: r.place, community_code: r.community, parent_id: r.parent, active: true, "
    "formed_on: date('2021-05-01')})-[:SERVES]->(p)",
    "org_parents": "UNWIND $rows AS r MATCH (o:Organisation {id: r.id}), (p:Organisation {id: r.parent}) "
    "CREATE (o)-[:SUB_ORGANISATION_OF]->(p)",
    "people": "UNWIND $rows AS r MATCH (c:Place {code: r.community}) CREATE "
    "(p:Person {id: r.id, display_name: r.name, "
    "party_member: r.party, community_code: r.community})-[:LIVES_IN]->(c)",
    "posts": "UNWIND $rows AS r MATCH (o:Organisation {id: r.org}) CREATE (p:Post {id: r.id, org_id: r.org, "
    "post: r.post, scope_code: r.scope, community_code: r.community})-[:POST_IN]->(o) "
    "WITH p, r CALL (p, r) { OPTIONAL MATCH (g:Grid {id: r.scope}) OPTIONAL MATCH (b:Place {code: r.scope}) "
    "FOREACH (s IN [x IN [g, b] WHERE x IS NOT NULL] | CREATE (p)-[:COVERS]->(s)) }",
    "memberships": "UNWIND $rows AS r MATCH (person:Person {id: r.person}), (post:Post {id: r.post_id}) "
    "CREATE (person)-[:HOLDS]->(m:Membership {id: r.id, person_id: r.person, "
    "post_id: r.post_id, post: r.post, "
    "org_id: r.org, scope_code: r.scope, community_code: r.community, start_date: date('2021-05-01'), "
    "basis: 'election', basis_reference: '2021年换届选举', cross_appointment: false, org_kind: r.org_kind, "
    "org_at_community: r.at_community})-[:OF_POST]->(post)",
}


async def load(driver: AsyncDriver, city: City) -> dict[str, Any]:
    steps: dict[str, float] = {}
    start = time.monotonic()
    for label in ("Province", "City", "District", "Street", "Community", "Compound", "Building"):
        t = time.monotonic()
        query: LiteralString = (
            "UNWIND $rows AS r MERGE (p:Place {code: r.code}) ON CREATE SET "
            "p.kind = r.kind, p.name = r.name, "
            "p.parent_code = r.parent, p.community_code = r.community, p.active = true, p += r.attributes, "
            "p.created_by_bench = true "
            "WITH p, r WHERE p.created_by_bench "
            + _label_set(label)
            + " WITH p, r OPTIONAL MATCH (parent:Place {code: r.parent}) "
            "FOREACH (_ IN CASE WHEN parent IS NULL THEN [] ELSE [1] END | MERGE (p)-[:PART_OF]->(parent))"
        )
        for rows in chunks(city.places.get(label, [])):
            await driver.execute_query(query, rows=list(rows))
        steps[f"places_{label.lower()}"] = round(time.monotonic() - t, 2)
    for name, rows_all in (
        ("grids", city.grids),
        ("in_grid", city.in_grid),
        ("orgs", city.orgs),
        ("org_parents", [o for o in city.orgs if o["parent"]]),
        ("people", city.people),
        ("posts", city.posts),
        ("memberships", city.memberships),
    ):
        t = time.monotonic()
        for rows in chunks(rows_all):
            await driver.execute_query(LOADS[name], rows=list(rows))
        steps[name] = round(time.monotonic() - t, 2)
    return {"seconds": round(time.monotonic() - start, 2), "steps_seconds": steps}


def _label_set(label: str) -> LiteralString:
    labels: dict[str, LiteralString] = {
        "Province": "SET p:Province",
        "City": "SET p:City",
        "District": "SET p:District",
        "Street": "SET p:Street",
        "Community": "SET p:Community",
        "Compound": "SET p:Compound",
        "Building": "SET p:Building",
    }
    return labels[label]


def log(stage: str, figures: Any) -> None:
    print(json.dumps({"stage": stage, "figures": figures}, ensure_ascii=False), file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)


async def time_queries(queries: Neo4jQueries, buildings: list[str], n: int) -> dict[str, Any]:
    rng = random.Random(11)
    sample = [rng.choice(buildings) for _ in range(n)]
    for code in sample[: min(200, n)]:  # warm-up
        await queries.ping()
        await queries.responsibility_chain(code, date.today())
    trivial, chain, links = [], [], []
    for code in sample:
        t = time.perf_counter()
        await queries.ping()
        trivial.append(time.perf_counter() - t)
        t = time.perf_counter()
        row = await queries.responsibility_chain(code, date.today())
        chain.append(time.perf_counter() - t)
        links.append(len(row["chain"]) if row else 0)
    result = {
        "queries": n,
        "return_1_p50_ms": percentile(trivial, 0.5),
        "return_1_p99_ms": percentile(trivial, 0.99),
        "chain_p50_ms": percentile(chain, 0.5),
        "chain_p99_ms": percentile(chain, 0.99),
        "mean_links_per_chain": round(statistics.mean(links), 2),
    }
    result["p99_ratio_chain_to_return_1"] = round(result["chain_p99_ms"] / result["return_1_p99_ms"], 2)
    result["p99_target_ratio"] = 5
    return result


async def time_coverage(queries: Neo4jQueries) -> dict[str, Any]:
    coverage = Neo4jCoverage(queries)
    runs = []
    report = None
    for _ in range(4):
        t = time.perf_counter()
        counts = await coverage.counts(CITY)
        report = indicators(counts)
        runs.append(round(time.perf_counter() - t, 3))
    assert report is not None
    return {
        "region": CITY,
        "first_run_seconds": runs[0],
        "warm_runs_seconds": runs[1:],
        "target_seconds": 2.0,
        "indicators": {i.name: i.value for i in report},
    }


async def time_import(driver: AsyncDriver, rows: int) -> dict[str, Any]:
    district = f"{CITY}99"
    street = f"{district}001"
    communities = max(1, -(-rows // 60))
    seed = [
        ("District", district.ljust(12, "0"), "district", f"{CITY}00000000"),
        ("Street", street.ljust(12, "0"), "street", district.ljust(12, "0")),
    ]
    seed += [
        ("Community", f"{street}{i + 1:03d}", "community", street.ljust(12, "0")) for i in range(communities)
    ]
    for label, code, kind, parent in seed:
        await driver.execute_query(
            "MERGE (p:Place {code: $code}) ON CREATE SET p.kind = $kind, p.name "
            "= $code, p.parent_code = $parent, "
            "p.community_code = left($code, 12), p.active = true, p.created_by_bench = true "
            "WITH p "
            + _label_set(label)
            + " WITH p MATCH (parent:Place {code: $parent}) MERGE (p)-[:PART_OF]->(parent)",
            code=code,
            kind=kind,
            parent=parent,
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i in range(rows):
        community = f"{street}{i // 60 + 1:03d}"
        compound = f"{community}-C{(i % 60) // 12 + 1:02d}"
        writer.writerow(
            [
                community,
                compound,
                f"小区{(i % 60) // 12 + 1}",
                "true",
                f"{compound}-B{i % 12 + 1:02d}",
                f"{i % 12 + 1}栋",
                "36",
                f"{community}{(i % 60) // 10 + 1:03d}",
                f"第{(i % 60) // 10 + 1}网格",
            ]
        )
    content = out.getvalue().encode()
    uow = Neo4jUnitOfWork(driver)
    admin = Principal("bench", frozenset({Role.ADMIN}))
    figures: dict[str, Any] = {"rows": rows, "communities": communities}
    for label in ("first_import", "reimport_no_change"):
        t = time.perf_counter()
        header, table = read_table("roster.csv", content)
        result = await import_roster(uow, admin, parse_roster(header, table))
        seconds = time.perf_counter() - t
        figures[label] = {
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds, 1),
            "changed": result["changed"],
            "places_created": result["places_created"],
        }
    return figures


async def cleanup(driver: AsyncDriver) -> float:
    t = time.monotonic()
    statements: list[LiteralString] = [
        'MATCH (o:OutboxEvent) WHERE o.pending AND o.event CONTAINS \'"partitionkey": "' + CITY + "' "
        "CALL (o) { DETACH DELETE o } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (m:Membership) WHERE m.community_code STARTS WITH '" + CITY + "' "
        "CALL (m) { DETACH DELETE m } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (p:Person) WHERE p.community_code STARTS WITH '" + CITY + "' "
        "CALL (p) { DETACH DELETE p } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (p:Post) WHERE p.community_code STARTS WITH '" + CITY + "' "
        "CALL (p) { DETACH DELETE p } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (o:Organisation) WHERE o.community_code STARTS WITH '" + CITY + "' "
        "CALL (o) { DETACH DELETE o } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (g:Grid) WHERE g.id STARTS WITH '"
        + CITY
        + "' CALL (g) { DETACH DELETE g } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (p:Place) WHERE p.code STARTS WITH '"
        + CITY
        + "' CALL (p) { DETACH DELETE p } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (l:WriteLock) WHERE l.key STARTS WITH 'place:"
        + CITY
        + "' OR l.key STARTS WITH 'grid:"
        + CITY
        + "' CALL (l) { DELETE l } IN TRANSACTIONS OF 10000 ROWS",
    ]
    async with driver.session() as session:
        for statement in statements:
            await (await session.run(statement)).consume()
    return round(time.monotonic() - t, 2)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    uri = os.environ.get("CIVICGRID_NEO4J_URI", "bolt://127.0.0.1:7687")
    driver = create_driver(uri)
    try:
        await ensure_schema(driver, ORG_GRAPH_SCHEMA)
        await cleanup(driver)
        t = time.monotonic()
        city = Generator(args.scale).generate()
        generated = round(time.monotonic() - t, 2)
        sizes = {
            "communities": len(city.places.get("Community", [])),
            "compounds": len(city.places.get("Compound", [])),
            "buildings": len(city.buildings),
            "grids": len(city.grids),
            "organisations": len(city.orgs),
            "building_party_groups": sum(1 for o in city.orgs if o["kind"] == "party_group"),
            "people": len(city.people),
            "posts": len(city.posts),
            "memberships": len(city.memberships),
        }
        log("generated", sizes)
        loaded = await load(driver, city)
        log("loaded", loaded)
        queries = Neo4jQueries(driver)
        result: dict[str, Any] = {
            "benchmark": "orggraph_city",
            "scale": args.scale,
            "neo4j": uri,
            "sizes": sizes,
            "generate_seconds": generated,
            "load": loaded,
        }
        result["responsibility_chain"] = await time_queries(queries, city.buildings, args.queries)
        log("responsibility_chain", result["responsibility_chain"])
        result["whole_city_coverage"] = await time_coverage(queries)
        log("whole_city_coverage", result["whole_city_coverage"])
        result["bulk_import"] = await time_import(driver, args.import_rows)
        if not args.keep:
            result["cleanup_seconds"] = await cleanup(driver)
        return result
    finally:
        await driver.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--import-rows", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="leave the generated city in Neo4j")
    print(json.dumps(asyncio.run(main(parser.parse_args())), ensure_ascii=False, indent=2))
