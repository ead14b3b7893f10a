"""Both sides of every relation are checked: acting on an object of one's region with an object of another
region (a claimant and a need, a person and an organisation, a request and a grid, a team and a resource)
is refused, and nothing changes.

Refused means 403 (not allowed to act on the other side), 404 (the other side is not visible to the
caller) or 422 (the relation breaks a rule): either way the answer carries no object, and the object
reads the same afterwards.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.security.calls import push_subscription
from tests.security.world import START, Api, Persona, World

REFUSED = (403, 404, 422)


def refused(response: httpx.Response, what: str) -> None:
    assert response.status_code in REFUSED, (
        f"{what}: expected a refusal (403/404/422), got {response.status_code}: {response.text[:300]}"
    )
    body = response.json()
    shown = {"id", "need_id", "membership_id"} & set(body)
    assert not shown, f"{what}: the refusal shows the object: {response.text[:300]}"


async def read(api: Api, w: World, service: str, path: str) -> Any:
    return await api.ok(service, "GET", path, w.admin)


async def test_a_member_cannot_claim_a_need_of_another_street_with_their_own_resource(
    api: Api, world: World
) -> None:
    need = await world.fresh_need(world.community_a, slots=1)
    response = await api.call(
        "resources",
        "POST",
        f"/needs/{need}/claims",
        world.member(Persona.NEIGHBOUR),
        json={"resource_id": world.resource_of(Persona.NEIGHBOUR)},
    )
    refused(response, "street B's member claiming street A's need")
    listed = await api.ok(
        "resources", "GET", "/needs", world.admin, params={"community_code": world.community_a}
    )
    mine = next(n for n in listed if n["id"] == need)
    assert mine["remaining"] == 1, f"the refused claim took a slot: {mine}"


async def test_a_member_cannot_claim_a_need_of_their_street_with_a_resource_of_another_street(
    api: Api, world: World
) -> None:
    need = await world.fresh_need(world.community_b, slots=1)
    response = await api.call(
        "resources",
        "POST",
        f"/needs/{need}/claims",
        world.member(Persona.CADRE),
        json={"resource_id": world.resource_of(Persona.CADRE)},
    )
    refused(response, "street A's member claiming street B's need with their street A resource")


async def test_a_coordinator_cannot_claim_a_need_of_their_street_for_a_resource_of_another_street(
    api: Api, world: World
) -> None:
    need = await world.fresh_need(world.community_a, slots=1)
    response = await api.call(
        "resources",
        "POST",
        f"/needs/{need}/claims",
        world.coordinator(world.region.street_a),
        json={"resource_id": world.resource_of(Persona.NEIGHBOUR)},
    )
    refused(response, "street A's coordinator claiming for street B's resource")


async def test_a_coordinator_cannot_claim_a_need_of_another_street_for_a_resource_of_their_street(
    api: Api, world: World
) -> None:
    need = await world.fresh_need(world.community_b, slots=1)
    response = await api.call(
        "resources",
        "POST",
        f"/needs/{need}/claims",
        world.coordinator(world.region.street_a),
        json={"resource_id": world.resource_of(Persona.CADRE)},
    )
    refused(response, "street A's coordinator claiming street B's need")


async def test_a_coordinator_cannot_claim_a_need_of_their_street_for_a_team_of_another_street(
    api: Api, world: World
) -> None:
    need = await world.fresh_need(world.community_a, slots=1)
    response = await api.call(
        "resources",
        "POST",
        f"/needs/{need}/claims",
        world.coordinator(world.region.street_a),
        json={"team_id": world.ids["team_b"]},
    )
    refused(response, "street A's coordinator claiming for street B's team")


def appointment(person: str, org: str) -> dict[str, Any]:
    return {
        "person_id": person,
        "org_id": org,
        "post": "committee_member",
        "start_date": START,
        "basis": "election",
        "basis_reference": "党员大会选举",
    }


async def posts_of(api: Api, world: World, person: str) -> list[Any]:
    answer = await read(api, world, "org-graph", f"/people/{person}/posts?history=true")
    return list(answer["posts"])


async def test_a_coordinator_cannot_appoint_a_person_of_another_street_to_an_organisation_of_their_own(
    api: Api, world: World
) -> None:
    person = await world.fresh_person(world.community_a)
    response = await api.call(
        "org-graph",
        "POST",
        "/memberships",
        world.coordinator(world.region.street_b),
        json=appointment(person, world.org_b),
    )
    refused(response, "street B's coordinator appointing a person of street A to street B's committee")
    assert await posts_of(api, world, person) == [], "the refused appointment was stored"


async def test_a_coordinator_cannot_appoint_a_person_of_their_street_to_an_organisation_of_another(
    api: Api, world: World
) -> None:
    person = await world.fresh_person(world.community_a)
    response = await api.call(
        "org-graph",
        "POST",
        "/memberships",
        world.coordinator(world.region.street_a),
        json=appointment(person, world.org_b),
    )
    refused(response, "street A's coordinator appointing to street B's committee")
    assert await posts_of(api, world, person) == [], "the refused appointment was stored"


async def test_a_refused_appointment_sends_nothing_to_the_persons_feed(api: Api, world: World) -> None:
    """The issue's case: the appointee's feed must not announce an appointment that was refused."""
    member = world.person(Persona.BYSTANDER)
    response = await api.call(
        "org-graph",
        "POST",
        "/memberships",
        world.coordinator(world.region.street_b),
        json=appointment(member, world.org_b),
    )
    refused(response, "street B's coordinator appointing street A's bystander")
    page = await api.ok("notifications", "GET", f"/members/{member}/feed", world.member(Persona.BYSTANDER))
    appointed = [
        i for i in page["items"] if i.get("kind") == "personal" and i.get("category") == "appointment"
    ]
    assert appointed == [], f"the bystander's feed announces a refused appointment: {appointed}"


async def request_state(api: Api, world: World, request_id: str) -> tuple[str, str]:
    answer = await read(api, world, "resources", f"/requests/{request_id}")
    return answer["status"], answer.get("grid_id")


async def test_a_coordinator_cannot_move_a_request_of_their_street_to_a_grid_of_another_street(
    api: Api, world: World
) -> None:
    request_id = await world.new_request()
    before = await request_state(api, world, request_id)
    response = await api.call(
        "resources",
        "POST",
        f"/requests/{request_id}/move",
        world.coordinator(world.region.street_a),
        json={"grid_id": world.grid_b1},
    )
    refused(response, "street A's coordinator moving a request into street B's grid")
    assert await request_state(api, world, request_id) == before


async def test_a_coordinator_cannot_move_a_request_of_another_street_into_a_grid_of_their_own(
    api: Api, world: World
) -> None:
    request_id = await world.new_request()
    before = await request_state(api, world, request_id)
    response = await api.call(
        "resources",
        "POST",
        f"/requests/{request_id}/move",
        world.coordinator(world.region.street_b),
        json={"grid_id": world.grid_b1},
    )
    refused(response, "street B's coordinator pulling street A's request into street B's grid")
    assert await request_state(api, world, request_id) == before


async def test_a_request_is_not_dispatched_to_a_resource_of_another_street(api: Api, world: World) -> None:
    request_id = await world.new_request()
    response = await api.call(
        "resources",
        "POST",
        f"/requests/{request_id}/dispatch",
        world.coordinator(world.region.street_a),
        json={"assignee_ids": [world.resource_of(Persona.NEIGHBOUR)]},
    )
    refused(response, "street A's request dispatched to street B's resource")
    shown = await api.call("resources", "GET", f"/requests/{request_id}", world.member(Persona.NEIGHBOUR))
    assert shown.status_code == 403, (
        "street B's member can read street A's request after the refused dispatch"
    )


async def team_members(api: Api, world: World, grid: str) -> list[str]:
    team = await read(api, world, "resources", f"/grids/{grid}/team")
    return [m["resource_id"] for m in team.get("members", [])]


async def test_a_coordinator_cannot_add_a_resource_of_another_street_to_a_team_of_their_own(
    api: Api, world: World
) -> None:
    before = await team_members(api, world, world.grid_a1)
    response = await api.call(
        "resources",
        "POST",
        f"/teams/{world.team_a}/members",
        world.coordinator(world.region.street_a),
        json={"resource_id": world.resource_of(Persona.NEIGHBOUR)},
    )
    refused(response, "street A's coordinator adding street B's resource to street A's team")
    assert await team_members(api, world, world.grid_a1) == before


async def test_a_coordinator_cannot_add_a_resource_of_their_street_to_a_team_of_another(
    api: Api, world: World
) -> None:
    before = await team_members(api, world, world.grid_b1)
    response = await api.call(
        "resources",
        "POST",
        f"/teams/{world.ids['team_b']}/members",
        world.coordinator(world.region.street_a),
        json={"resource_id": world.resource_of(Persona.CADRE)},
    )
    refused(response, "street A's coordinator adding to street B's team")
    assert await team_members(api, world, world.grid_b1) == before


async def test_a_coordinator_cannot_put_a_resource_of_another_street_into_a_grid_of_their_own(
    api: Api, world: World
) -> None:
    response = await api.call(
        "resources",
        "POST",
        f"/resources/{world.resource_of(Persona.NEIGHBOUR)}/grids",
        world.coordinator(world.region.street_a),
        json={"grid_id": world.grid_a2, "role": "volunteer", "period_start": START},
    )
    refused(response, "street A's coordinator putting street B's resource into grid A2")


async def test_a_coordinator_cannot_put_a_resource_of_their_street_into_a_grid_of_another(
    api: Api, world: World
) -> None:
    resource = await world.fresh_resource()
    response = await api.call(
        "resources",
        "POST",
        f"/resources/{resource}/grids",
        world.coordinator(world.region.street_a),
        json={"grid_id": world.grid_b1, "role": "volunteer", "period_start": START},
    )
    refused(response, "street A's coordinator putting a street A resource into grid B1")


async def test_a_coordinator_cannot_publish_an_offer_for_a_unit_of_another_street(
    api: Api, world: World
) -> None:
    response = await api.call(
        "resources",
        "POST",
        "/offers",
        world.coordinator(world.region.street_b),
        json={"resource_id": world.unit_a, "kind": "resource", "title": "场地"},
    )
    refused(response, "street B's coordinator offering on behalf of street A's unit")


async def test_a_coordinator_cannot_file_a_request_of_their_community_in_a_grid_of_another(
    api: Api, world: World
) -> None:
    response = await api.call(
        "resources",
        "POST",
        "/requests",
        world.coordinator(world.region.street_a),
        json={
            "community_code": world.community_a,
            "kind": "help",
            "category": "水电维修",
            "summary": "水管漏水",
            "grid_id": world.grid_b1,
        },
    )
    refused(response, "a request of community A filed in street B's grid")


async def test_a_coordinator_cannot_broadcast_to_another_streets_audience(api: Api, world: World) -> None:
    for audience in (
        f"street:{world.region.street_b}",
        f"community:{world.community_b}",
        f"person:{world.person(Persona.NEIGHBOUR)}",
        f"grid:{world.grid_b1}",
    ):
        response = await api.call(
            "notifications",
            "POST",
            "/broadcasts",
            world.coordinator(world.region.street_a),
            json={"audience": audience, "community_code": world.community_a, "title": "通知", "body": "内容"},
        )
        assert response.status_code in REFUSED, (
            f"street A's coordinator broadcast to {audience}: {response.text[:200]}"
        )


async def test_a_member_cannot_delete_another_members_push_subscription(api: Api, world: World) -> None:
    owner = world.person(Persona.CADRE)
    made = await api.ok(
        "notifications",
        "POST",
        f"/members/{owner}/push-subscriptions",
        world.member(Persona.CADRE),
        json=push_subscription(),
    )
    other = world.person(Persona.BYSTANDER)
    for path, token in (
        (f"/members/{owner}/push-subscriptions/{made['id']}", world.member(Persona.BYSTANDER)),
        (f"/members/{other}/push-subscriptions/{made['id']}", world.member(Persona.BYSTANDER)),
    ):
        await api.call("notifications", "DELETE", path, token)
    listed = await api.ok(
        "notifications", "GET", f"/members/{owner}/push-subscriptions", world.member(Persona.CADRE)
    )
    assert made["id"] in [s["id"] for s in listed["items"]], "another member deleted the cadre's subscription"
