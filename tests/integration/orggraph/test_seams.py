"""Facts other services need (issue 9, seams): every way a building gets or changes its grid publishes
``grid.building_assigned`` (building, grid, previous grid, community); events caused by a population
report carry its id as causation id and its correlation id."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events.municipal import PopulationReported
from civicgrid_orggraph.service_layer.population import PopulationReport, apply_population_report
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound
from tests.integration.orggraph.test_import_export import as_csv

pytestmark = pytest.mark.integration
ASSIGNED = "cn.civicgrid.org.grid.building_assigned.v1"


async def _events(neo4j_driver: Any, community: str, event_type: str) -> list[dict[str, Any]]:
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $code AND o.event CONTAINS $type "
        "RETURN o.event AS event ORDER BY o.created_at, o.seq",
        code=community,
        type=event_type,
    )
    events = [json.loads(r["event"]) for r in records]
    return [e for e in events if e["type"] == event_type and e["partitionkey"] == community]


def _assignments(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(e["data"]["building_code"], e["data"]["grid_id"], e["data"]["previous_grid_id"]) for e in events]


async def test_a_buildings_first_grid_and_a_move_each_publish_the_assignment(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    for n in (1, 2):
        await api.ok("POST", "/grids", {"grid_id": c.grid(n), "name": f"第{n}网格"})
    building = c.building(1, 1)
    await api.ok("POST", f"/buildings/{building}/grid", {"grid_id": c.grid(1)})
    await api.ok("POST", f"/buildings/{building}/grid", {"grid_id": c.grid(2)})
    await api.ok("POST", f"/buildings/{building}/grid", {"grid_id": c.grid(2)})  # no change, no fact
    events = await _events(neo4j_driver, c.code, ASSIGNED)
    assert _assignments(events) == [(building, c.grid(1), None), (building, c.grid(2), c.grid(1))]
    assert all(e["subject"] == f"place/{building}" for e in events)


async def test_a_grid_defined_over_buildings_publishes_each_buildings_assignment(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=2)
    buildings = [c.building(1, 1), c.building(1, 2)]
    await api.ok("POST", "/grids", {"grid_id": c.grid(1), "name": "一网格", "building_codes": buildings})
    events = await _events(neo4j_driver, c.code, ASSIGNED)
    assert sorted(_assignments(events)) == [(b, c.grid(1), None) for b in buildings]


async def test_a_roster_import_publishes_every_first_grid_and_every_move(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=3)
    await api.ok(
        "POST", "/grids", {"grid_id": c.grid(1), "name": "一网格", "building_codes": [c.building(1, 3)]}
    )
    await api.ok("POST", "/grids", {"grid_id": c.grid(2), "name": "二网格"})
    before = len(await _events(neo4j_driver, c.code, ASSIGNED))
    rows = [
        # into an existing grid (first grid), into a grid the file defines, moved to another grid
        [c.code, c.compound(1), "小区1", "true", c.building(1, 1), "1栋", "", c.grid(2), "二网格"],
        [c.code, c.compound(1), "小区1", "true", c.building(1, 2), "2栋", "", c.grid(3), "三网格"],
        [c.code, c.compound(1), "小区1", "true", c.building(1, 3), "3栋", "", c.grid(2), "二网格"],
    ]
    headers = api.headers(None)
    response = await api.client.post(
        "/imports/roster", files={"file": ("r.csv", as_csv(rows))}, headers=headers
    )
    assert response.status_code == 200, response.text
    events = (await _events(neo4j_driver, c.code, ASSIGNED))[before:]
    assert sorted(_assignments(events)) == [
        (c.building(1, 1), c.grid(2), None),
        (c.building(1, 2), c.grid(3), None),
        (c.building(1, 3), c.grid(2), c.grid(1)),
    ]


async def test_events_caused_by_a_population_report_carry_its_causation_and_correlation_ids(
    api: Api, new_community: NewCommunity, orggraph_app, neo4j_driver
):
    c = await new_community(residents=100, households=40)
    correlated = new_event(
        PopulationReported(community_code=c.code, as_of=date(2025, 6, 30), residents=9000, households=3000),
        source="/municipal/statistics",
        correlation_id=f"census-{uuid.uuid4().hex[:8]}",
    )
    report = PopulationReport(
        correlated.id, c.code, date(2025, 6, 30), 9000, 3000, correlation_id=correlated.correlationid
    )
    assert (await apply_population_report(orggraph_app.state.uow, report))["applied"]
    uncorrelated = PopulationReport(uuid.uuid4().hex, c.code, date(2025, 7, 31), 9100, 3010)
    assert (await apply_population_report(orggraph_app.state.uow, uncorrelated))["applied"]
    updates = await _events(neo4j_driver, c.code, "cn.civicgrid.org.place.updated.v1")
    assert [(e["causationid"], e["correlationid"]) for e in updates[-2:]] == [
        (correlated.id, correlated.correlationid),
        (uncorrelated.event_id, uncorrelated.event_id),
    ]
