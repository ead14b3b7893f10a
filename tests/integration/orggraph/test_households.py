"""Households through the HTTP API on real Neo4j and Kafka: writes, the facts published (valid against
the contract), the totals an owners' vote needs, authorisation and refusals that name the field."""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from civicgrid_contracts.catalogue import parse_payload
from civicgrid_contracts.cli import CONTRACTS_DIR
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.households import HouseholdRegistered, HouseholdRemoved, HouseholdUpdated
from civicgrid_runtime.auth import Role
from tests.integration.orggraph.builders import person
from tests.integration.orggraph.conftest import Api, Community, NewCommunity, build_compound

pytestmark = pytest.mark.integration
TOPIC = "civicgrid.org.households.v1"
SCHEMAS = CONTRACTS_DIR / "schemas"


def unit(c: Community, entrance: str, number: str, area: float, **people: Any) -> dict[str, Any]:
    return {
        "building_code": c.building(1, 1),
        "entrance": entrance,
        "unit_number": number,
        "exclusive_area_m2": area,
        **people,
    }


async def published(app: FastAPI, bootstrap: str, community: str, expected: int) -> list[CloudEvent]:
    """Drain the outbox, then read the households topic from the start: the community's events."""
    await app.state.relay.drain()
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[CloudEvent] = []
    deadline = time.monotonic() + 30
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == community.encode():
                        found.append(CloudEvent.from_kafka(record.key, record.value, list(record.headers)))
    finally:
        await consumer.stop()
    return found


async def test_a_coordinator_registers_changes_and_removes_a_household_and_each_change_is_published(
    api: Api, orggraph_app: FastAPI, new_community: NewCommunity, kafka_bootstrap: str
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=1)
    owner, partner, rep = [await person(api, c, name) for name in ("业主甲", "业主乙", "代表丙")]
    token = api.token(Role.COORDINATOR, region=c.code)

    first = await api.post(
        "/households",
        unit(c, "2", "1203", 89.555, owner_person_ids=[owner], resident_person_ids=[owner, partner]),
        token,
    )
    assert first.status_code == 201, first.text
    code = first.json()["household_code"]
    assert code == f"{c.building(1, 1)}-U2-1203"
    assert first.json()["exclusive_area_m2"] == 89.56
    assert first.json()["compound_code"] == c.compound(1)

    owners = await api.client.put(
        f"/households/{code}/owners", json={"owner_person_ids": [owner, partner]}, headers=api.headers(token)
    )
    assert owners.status_code == 200, owners.text
    assert owners.json()["version"] == 2
    keeper = await api.client.put(
        f"/households/{code}/representative",
        json={"representative_person_id": rep},
        headers=api.headers(token),
    )
    assert keeper.json()["representative_person_id"] == rep
    same = await api.client.put(
        f"/households/{code}/representative",
        json={"representative_person_id": rep},
        headers=api.headers(token),
    )
    assert same.json()["changed"] is False
    assert same.json()["version"] == 3
    gone = await api.client.delete(f"/households/{code}", headers=api.headers(token))
    assert gone.status_code == 200
    assert gone.json()["active"] is False

    events = await published(orggraph_app, kafka_bootstrap, c.code, expected=4)
    for event in events:  # the committed JSON Schemas accept what was published, as the models do
        schema = json.loads((SCHEMAS / f"{event.type}.json").read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator(schema).validate(event.data)
    payloads = [parse_payload(e) for e in events]
    assert [type(p) for p in payloads] == [
        HouseholdRegistered,
        HouseholdUpdated,
        HouseholdUpdated,
        HouseholdRemoved,
    ]
    kinds = HouseholdRegistered | HouseholdUpdated | HouseholdRemoved
    assert [p.version for p in payloads if isinstance(p, kinds)] == [1, 2, 3, 4]
    registered = payloads[0]
    assert isinstance(registered, HouseholdRegistered)
    assert registered.owners[0].person_id == owner
    assert registered.resident_person_ids == [owner, partner]
    assert registered.entrance_code == f"{c.building(1, 1)}-U2"
    last_state = payloads[2]
    assert isinstance(last_state, HouseholdUpdated)
    assert [o.person_id for o in last_state.owners] == [owner, partner]
    assert last_state.representative_person_id == rep
    assert all("业主" not in json.dumps(e.data, ensure_ascii=False) for e in events)  # ids, never names


async def test_the_list_of_a_compounds_households_gives_the_totals_an_owners_vote_needs(
    api: Api, new_community: NewCommunity
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=2)
    a, b = await person(api, c, "业主一"), await person(api, c, "业主二")
    await api.ok("POST", "/households", unit(c, "1", "101", 100.0, owner_person_ids=[a]))
    await api.ok("POST", "/households", unit(c, "1", "102", 80.5, owner_person_ids=[a]))  # a's second unit
    await api.ok("POST", "/households", unit(c, "1", "201", 60.0, owner_person_ids=[b]))
    other = unit(c, "1", "101", 59.5) | {"building_code": c.building(1, 2)}
    await api.ok("POST", "/households", other)  # unsold: no owner on record

    listed = await api.ok("GET", f"/compounds/{c.compound(1)}/households")
    totals = listed["totals"]
    assert totals["households"] == 4
    assert totals["area_m2"] == 300.0
    assert (totals["owned_households"], totals["households_without_owners"]) == (3, 1)
    assert (totals["owner_persons"], totals["owner_headcount"]) == (2, 2)
    assert totals["motion_5_percent"] == {"area_m2": 15.0, "owners": 1}
    assert totals["participation_two_thirds"] == {"area_m2": 200.0, "owners": 2}
    building = await api.ok("GET", f"/buildings/{c.building(1, 1)}/households", limit=2)
    assert building["totals"]["households"] == 3
    assert [h["unit_number"] for h in building["households"]] == ["101", "102"]


async def test_a_coordinator_of_another_region_may_neither_write_nor_read_a_household(
    api: Api, new_community: NewCommunity
) -> None:
    c = await new_community()
    elsewhere = await new_community()
    await build_compound(api, c, buildings=1)
    code = (await api.ok("POST", "/households", unit(c, "1", "301", 70.0)))["household_code"]
    stranger = api.token(Role.COORDINATOR, region=elsewhere.code)
    assert (await api.post("/households", unit(c, "1", "302", 70.0), stranger)).status_code == 403
    patched = await api.client.patch(
        f"/households/{code}", json={"exclusive_area_m2": 1.0}, headers=api.headers(stranger)
    )
    assert patched.status_code == 403
    assert (await api.get(f"/households/{code}", stranger)).status_code == 403
    assert (await api.get(f"/compounds/{c.compound(1)}/households", stranger)).status_code == 403
    resident = await person(api, c, "住户")
    member = api.token(Role.MEMBER, person_id=resident)
    assert (await api.get(f"/households/{code}", member)).status_code == 403
    assert (await api.ok("GET", f"/households/{code}"))["exclusive_area_m2"] == 70.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"exclusive_area_m2": -1}, "exclusive_area_m2"),
        ({"entrance": "2号"}, "entrance"),
        ({"unit_number": ""}, "unit_number"),
        ({"owner_person_ids": ["p-13812345678"]}, "owner_person_ids"),
        ({"owner_person_ids": ["nobody-registered"]}, "owner_person_ids"),
        ({"resident_person_ids": ["p-x", "p-x"]}, "resident_person_ids"),
        ({"building_code": "420106"}, "building_code"),
    ],
)
async def test_bad_input_is_refused_with_a_4xx_naming_the_field(
    api: Api, new_community: NewCommunity, change: dict[str, Any], field: str
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=1)
    response = await api.post("/households", unit(c, "1", "101", 50.0) | change)
    assert 400 <= response.status_code < 500, response.text
    assert field in response.text
    assert "13812345678" not in response.text


async def test_a_retry_with_the_same_key_answers_the_first_result_and_another_body_is_a_409(
    api: Api, new_community: NewCommunity, unique: str
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=1)
    body = unit(c, "3", "501", 91.2)
    first = await api.post("/households", body, key=f"hh-{unique}")
    again = await api.post("/households", body, key=f"hh-{unique}")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    other = await api.post("/households", body | {"exclusive_area_m2": 91.3}, key=f"hh-{unique}")
    assert other.status_code == 409
    assert "exclusive_area_m2" in other.text
    repeat = await api.post("/households", body)
    assert repeat.status_code == 200
    assert repeat.json()["created"] is False
    conflicting = await api.post("/households", body | {"exclusive_area_m2": 10})
    assert conflicting.status_code == 409


async def test_a_building_with_households_cannot_be_dissolved_until_they_are_removed(
    api: Api, new_community: NewCommunity
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=1)
    code = (await api.ok("POST", "/households", unit(c, "1", "101", 50.0)))["household_code"]
    refused = await api.post(f"/places/{c.building(1, 1)}/dissolve", {"reason": "拆除"})
    assert refused.status_code == 422
    assert code in refused.text
    await api.client.delete(f"/households/{code}", headers=api.headers(None))
    assert (await api.post(f"/places/{c.building(1, 1)}/dissolve", {"reason": "拆除"})).status_code == 200


async def test_a_person_reads_the_households_they_own_live_in_and_keep_in_touch_with_as_a_representative(
    api: Api, new_community: NewCommunity
) -> None:
    c, elsewhere = await new_community(), await new_community()
    await build_compound(api, c, buildings=1)
    await build_compound(api, elsewhere, buildings=1)
    owner, tenant, rep = [await person(api, c, name) for name in ("业主", "租户", "居民代表")]
    first = await api.ok(
        "POST",
        "/households",
        unit(c, "1", "101", 80.0, owner_person_ids=[owner], resident_person_ids=[owner, tenant])
        | {"representative_person_id": rep},
    )
    second = await api.ok(
        "POST",
        "/households",
        unit(c, "1", "102", 60.0, owner_person_ids=[owner]) | {"representative_person_id": rep},
    )
    far = await api.ok(
        "POST", "/households", unit(elsewhere, "1", "101", 70.0) | {"representative_person_id": rep}
    )
    h1, h2, h3 = first["household_code"], second["household_code"], far["household_code"]

    def codes(answer: dict[str, Any], link: str) -> set[str]:
        return {h["household_code"] for h in answer[link]}

    mine = await api.get(f"/people/{rep}/households", api.token(Role.MEMBER, person_id=rep))
    assert mine.status_code == 200, mine.text
    assert codes(mine.json(), "keeps_in_touch_with") == {h1, h2, h3}
    assert codes(mine.json(), "owns") == set()
    owners = (await api.get(f"/people/{owner}/households", api.token(Role.MEMBER, person_id=owner))).json()
    assert (codes(owners, "owns"), codes(owners, "resides_in")) == ({h1, h2}, {h1})

    # A coordinator of the representative's community sees only the households of that region.
    here = await api.get(f"/people/{rep}/households", api.token(Role.COORDINATOR, region=c.code))
    assert codes(here.json(), "keeps_in_touch_with") == {h1, h2}
    assert (
        await api.get(f"/people/{rep}/households", api.token(Role.COORDINATOR, region=elsewhere.code))
    ).status_code == 403
    assert (
        await api.get(f"/people/{rep}/households", api.token(Role.MEMBER, person_id=tenant))
    ).status_code == 403
    assert (await api.get("/people/nobody-at-all/households")).status_code == 404

    cleared = await api.client.put(
        f"/households/{h2}/representative", json={"representative_person_id": None}, headers=api.headers(None)
    )
    assert cleared.status_code == 200, cleared.text
    after = (await api.get(f"/people/{rep}/households", api.token(Role.MEMBER, person_id=rep))).json()
    assert codes(after, "keeps_in_touch_with") == {h1, h3}
