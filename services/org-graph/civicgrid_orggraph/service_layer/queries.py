"""Read use cases: every answer is checked against the caller's region (or own person id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any, Protocol

from civicgrid_orggraph.domain.codes import region_prefix_of
from civicgrid_orggraph.domain.coverage import GAP_METRICS, CoverageCounts, indicators
from civicgrid_orggraph.domain.households import Household
from civicgrid_orggraph.domain.vocabulary import PlaceKind
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import InvalidInput, NotFound, PermissionDenied

Row = dict[str, Any]


class Reader(Protocol):
    async def place(self, code: str) -> Row | None: ...
    async def responsibility_chain(self, building_code: str, on: date) -> Row | None: ...
    async def community_tree(self, code: str) -> Row: ...
    async def person(self, person_id: str) -> Row | None: ...
    async def person_posts(self, person_id: str, on: date | None) -> list[Row]: ...
    async def post_holders(self, post_id: str, on: date | None) -> Row | None: ...
    async def grid_members(self, grid_id: str, on: date) -> Row | None: ...
    async def two_committees(self, community_code: str, on: date) -> list[Row]: ...
    async def organisation(self, org_id: str) -> Row | None: ...
    async def flags(self, prefix: str, limit: int) -> list[Row]: ...
    async def roster(self, prefix: str) -> list[Row]: ...
    async def post_roster(self, prefix: str, on: date) -> list[Row]: ...
    async def household(self, code: str) -> Household | None: ...
    async def households_under(self, code: str, kind: PlaceKind) -> list[Household]: ...
    async def household_roster(self, prefix: str) -> list[Household]: ...
    async def person_names(self, person_ids: Sequence[str]) -> dict[str, str]: ...
    async def households_of_person(self, person_id: str) -> list[tuple[str, Household]]: ...


class CoverageReader(Protocol):
    async def counts(self, prefix: str) -> CoverageCounts: ...
    async def gaps(self, prefix: str, metric: str, offset: int, limit: int) -> list[Row]: ...


def _can_read(principal: Principal, code: str) -> None:
    if not principal.can_manage(code):
        raise PermissionDenied(f"{principal.subject} may not read {code}: outside the caller's region")


def _found(row: Row | None, what: str) -> Row:
    if row is None:
        raise NotFound(f"no {what}")
    return row


async def get_place(reader: Reader, principal: Principal, code: str) -> Row:
    _can_read(principal, code)
    return _found(await reader.place(code), f"place with code {code}")


async def responsibility_chain(reader: Reader, principal: Principal, building_code: str, on: date) -> Row:
    _can_read(principal, building_code)
    row = _found(await reader.responsibility_chain(building_code, on), f"building with code {building_code}")
    order = [
        "building_head",
        "grid_worker",
        "grid_leader",
        "compound_branch_secretary",
        "community_secretary",
        "residents_committee_director",
        "township_leader",
    ]
    chain = sorted(row["chain"], key=lambda link: (order.index(link["role"]), link["display_name"]))
    present = {link["role"] for link in chain}
    return {**row, "on": on.isoformat(), "chain": chain, "vacant": [r for r in order if r not in present]}


async def community_tree(reader: Reader, principal: Principal, code: str) -> Row:
    _can_read(principal, code)
    place = _found(await reader.place(code), f"community with code {code}")
    if place["kind"] not in ("community", "village"):
        raise InvalidInput(f"{code} is a {place['kind']}; the tree is asked of a community or village")
    return {"community": place, **await reader.community_tree(code)}


async def _person_scope(reader: Reader, principal: Principal, person_id: str) -> Row:
    person = _found(await reader.person(person_id), f"person with id {person_id}")
    if principal.has_role(Role.MEMBER) and principal.is_person(person_id):
        return person
    _can_read(principal, person["community_code"])
    return person


async def person_posts(reader: Reader, principal: Principal, person_id: str, on: date | None) -> Row:
    person = await _person_scope(reader, principal, person_id)
    posts = await reader.person_posts(person_id, on)
    return {"person": person, "on": on.isoformat() if on else None, "posts": posts}


async def get_person(reader: Reader, principal: Principal, person_id: str) -> Row:
    return await _person_scope(reader, principal, person_id)


async def post_holders(reader: Reader, principal: Principal, post_id: str, on: date | None) -> Row:
    row = _found(await reader.post_holders(post_id, on), f"post with id {post_id}")
    _can_read(principal, row["community_code"])
    return {**row, "on": on.isoformat() if on else None}


async def grid_members(reader: Reader, principal: Principal, grid_id: str, on: date) -> Row:
    _can_read(principal, grid_id)
    return {**_found(await reader.grid_members(grid_id, on), f"grid with id {grid_id}"), "on": on.isoformat()}


async def two_committees(reader: Reader, principal: Principal, community_code: str, on: date) -> Row:
    _can_read(principal, community_code)
    _found(await reader.place(community_code), f"community with code {community_code}")
    return {
        "community_code": community_code,
        "on": on.isoformat(),
        "committees": await reader.two_committees(community_code, on),
    }


async def organisation(reader: Reader, principal: Principal, org_id: str) -> Row:
    row = _found(await reader.organisation(org_id), f"organisation with id {org_id}")
    _can_read(principal, row["place_code"])
    return row


async def flags(reader: Reader, principal: Principal, region: str, limit: int) -> Row:
    prefix = region_prefix_of(region)
    _can_read(principal, prefix.ljust(12, "0"))
    return {"region": prefix, "flags": await reader.flags(prefix, limit)}


async def coverage(reader: CoverageReader, principal: Principal, region: str) -> Row:
    prefix = region_prefix_of(region)
    _can_read(principal, prefix.ljust(12, "0"))
    counts = await reader.counts(prefix)
    return {
        "region": prefix,
        "as_of": date.today().isoformat(),
        "counts": asdict(counts),
        "indicators": [asdict(i) for i in indicators(counts)],
    }


async def coverage_gaps(
    reader: CoverageReader, principal: Principal, region: str, metric: str, offset: int, limit: int
) -> Row:
    if metric not in GAP_METRICS:
        raise InvalidInput(f"metric must be one of: {', '.join(GAP_METRICS)}")
    prefix = region_prefix_of(region)
    _can_read(principal, prefix.ljust(12, "0"))
    return {
        "region": prefix,
        "metric": metric,
        "offset": offset,
        "gaps": await reader.gaps(prefix, metric, offset, limit),
    }


async def roster(reader: Reader, principal: Principal, region: str) -> list[Row]:
    prefix = region_prefix_of(region)
    _can_read(principal, prefix.ljust(12, "0"))
    return await reader.roster(prefix)


async def post_roster(reader: Reader, principal: Principal, region: str, on: date) -> list[Row]:
    prefix = region_prefix_of(region)
    _can_read(principal, prefix.ljust(12, "0"))
    rows = await reader.post_roster(prefix, on)
    return [
        {k: "" if v is None else str(v).lower() if isinstance(v, bool) else v for k, v in r.items()}
        for r in rows
    ]
