"""Projects agreed in deliberation (领办议定的民生实事): an adopted resolution, read from deliberation's
topic, is a project on its community's projects list (not its needs list), linked to the resolution,
which one grid's team claims to lead — once, even when the event comes twice."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events.deliberation import ResolutionAdopted
from tests.integration.resources.conftest import Running
from tests.support.kafka import committed_offset, wait_for

pytestmark = pytest.mark.integration

DELIBERATION = "civicgrid.deliberation.v1"


async def listed(service: Running, community: str, which: str) -> list[dict[str, Any]]:
    answer = await service.client.get(
        "/needs", params={"community_code": community, "list": which}, headers=service.auth()
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()
    return items


async def team_of(service: Running, grid: str) -> str:
    answer = await service.client.post(
        "/teams", json={"grid_id": grid, "name": f"网格{grid[-3:]}服务团"}, headers=service.auth()
    )
    assert answer.status_code == 201, answer.text
    team_id: str = answer.json()["id"]
    return team_id


async def test_an_adopted_resolution_is_a_project_on_the_projects_list_that_a_team_claims_to_lead(
    service: Running, community: str
) -> None:
    grids = [community + "001", community + "002"]
    await service.seed_places(community, {g: [] for g in grids})
    rid = f"rs-mt-{community}-1"
    resolution = ResolutionAdopted(
        community_code=community,
        resolution_id=rid,
        place_code=f"{community}-C01",
        compound_code=f"{community}-C01",
        title="楼道加装扶手",
        summary="三方联席会议定,共建单位领办",
        meeting_id=f"mt-{community}-1",
    )
    await service.publish(new_event(resolution, source="/civicgrid/deliberation"), DELIBERATION)

    async def projects() -> list[dict[str, Any]]:
        return [p for p in await listed(service, community, "projects") if p["resolution_id"] == rid]

    assert await wait_for(projects, timeout=60), "the resolution never reached the projects list"
    [project] = await projects()
    assert project["id"] == f"project-{rid}"
    assert (project["on_list"], project["title"], project["tags"]) == (
        "projects",
        "楼道加装扶手",
        ["resolution", "project"],
    )
    assert (project["slots"], project["remaining"]) == (1, 1)
    assert f"mt-{community}-1" in project["description"]
    assert [n["id"] for n in await listed(service, community, "needs")] == []  # not a need

    leader, other = await team_of(service, grids[0]), await team_of(service, grids[1])
    claimed = await service.client.post(
        f"/needs/{project['id']}/claims", json={"team_id": leader}, headers=service.auth()
    )
    assert claimed.status_code == 201, claimed.text
    assert (claimed.json()["team_id"], claimed.json()["remaining"]) == (leader, 0)
    late = await service.client.post(
        f"/needs/{project['id']}/claims", json={"team_id": other}, headers=service.auth()
    )
    assert late.status_code == 409  # one team leads it

    # The resolution again, as a new event (a replay): still one project, still led by the first team.
    again = new_event(resolution, source="/civicgrid/deliberation").to_kafka()
    producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            service.topic(DELIBERATION), again.value, key=again.key, headers=list(again.headers)
        )
    finally:
        await producer.stop()

    async def read_past_it() -> bool:
        group, topic = f"{service.settings.consumer_group}.deliberation", service.topic(DELIBERATION)
        committed = await committed_offset(
            service.settings.kafka_bootstrap_servers, group, topic, sent.partition
        )
        return committed is not None and committed > sent.offset

    assert await wait_for(read_past_it, timeout=60), "resources never read the replayed resolution"
    [after] = await projects()
    assert (after["claimants"], after["version"]) == ([leader], project["version"] + 1)
