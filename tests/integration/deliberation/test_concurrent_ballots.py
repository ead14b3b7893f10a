"""Ballots cast side by side, through the API and the test stack's FerretDB (which does not isolate
concurrent updates of one document): every accepted ballot is counted exactly once, and a ballot racing
the close is either counted or refused, never accepted and lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events import households as hh
from tests.integration.deliberation.conftest import Running

pytestmark = pytest.mark.integration


async def seed_many(service: Running, community: str, compound: str, owners: list[str]) -> list[str]:
    """One 100 m² household per owner in one building, published with one producer (the conftest
    helper starts a producer per event); waits until the projection has them all."""
    building = f"{compound}-B01"
    entrance = f"{building}-U1"
    codes = [f"{entrance}-{1001 + i}" for i in range(len(owners))]
    producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for code, owner in zip(codes, owners, strict=True):
            record = new_event(
                hh.HouseholdRegistered(
                    community_code=community,
                    household_code=code,
                    compound_code=compound,
                    building_code=building,
                    entrance_code=entrance,
                    unit_number=code.rsplit("-", 1)[1],
                    exclusive_area_m2=100.0,
                    owners=[hh.HouseholdOwner(person_id=owner)],
                    resident_person_ids=[owner],
                    representative_person_id=None,
                    version=1,
                ),
                source="/civicgrid/org-graph",
            ).to_kafka()
            await producer.send(
                service.topic("civicgrid.org.households.v1"),
                record.value,
                key=record.key,
                headers=record.headers,
            )
        await producer.flush()
    finally:
        await producer.stop()
    for _ in range(360):
        if len(await service.ctx.households.units_of(compound)) == len(owners):
            return codes
        await asyncio.sleep(0.25)
    raise AssertionError("the household projection never received the households")


async def open_vote(service: Running, compound: str, key: str) -> str:
    opened = await service.client.post(
        "/votes",
        json={
            "compound_code": compound,
            "title": "加装电梯",
            "matter": "use_maintenance_fund",
            "closes_at": "2099-01-01T00:00:00Z",
        },
        headers={**service.coordinator(), "Idempotency-Key": key},
    )
    assert opened.status_code == 201, opened.text
    vote_id: str = opened.json()["vote_id"]
    return vote_id


async def cast(service: Running, vote_id: str, person: str, choice: str) -> int:
    answer = await service.client.post(
        f"/votes/{vote_id}/ballots", json={"choice": choice}, headers=service.member(person)
    )
    assert answer.status_code in (200, 409), answer.text
    return answer.status_code


def counts(decision: dict[str, Any]) -> dict[str, int]:
    return {side: decision[side]["heads"] for side in ("approve", "oppose", "abstain")}


async def test_two_hundred_ballots_cast_at_once_to_one_vote_are_each_counted_once(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    owners = [f"c{i}-{tag}" for i in range(200)]
    await seed_many(service, community, compound, owners)
    vote_id = await open_vote(service, compound, f"concurrent-{tag}")
    choices = {
        o: "oppose" if i % 5 == 0 else "abstain" if i % 7 == 0 else "approve" for i, o in enumerate(owners)
    }

    statuses = await asyncio.gather(*(cast(service, vote_id, o, c) for o, c in choices.items()))

    assert statuses == [200] * 200
    staff = service.coordinator()
    read = await service.client.get(f"/votes/{vote_id}", headers=staff)
    assert read.json()["ballots_cast"] == 200
    closed = await service.client.post(f"/votes/{vote_id}/close", headers=staff)
    assert closed.status_code == 200, closed.text
    expected = {side: list(choices.values()).count(side) for side in ("approve", "oppose", "abstain")}
    assert counts(closed.json()["decision"]) == expected
    assert expected == {"approve": 137, "oppose": 40, "abstain": 23}


async def test_a_ballot_racing_the_close_is_either_counted_or_refused(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    owners = [f"r{i}-{tag}" for i in range(60)]
    await seed_many(service, community, compound, owners)
    vote_id = await open_vote(service, compound, f"race-{tag}")
    early, racing = owners[:30], owners[30:]
    assert await asyncio.gather(*(cast(service, vote_id, o, "approve") for o in early)) == [200] * 30
    staff = service.coordinator()

    async def racer(i: int, owner: str) -> int:
        await asyncio.sleep(0.01 * i)  # spread over the close
        return await cast(service, vote_id, owner, "oppose")

    close_task = asyncio.create_task(service.client.post(f"/votes/{vote_id}/close", headers=staff))
    statuses = await asyncio.gather(*(racer(i, o) for i, o in enumerate(racing)))
    closed = await close_task
    assert closed.status_code == 200, closed.text

    accepted = statuses.count(200)
    assert counts(closed.json()["decision"]) == {"approve": 30, "oppose": accepted, "abstain": 0}
    read = await service.client.get(f"/votes/{vote_id}", headers=staff)
    assert read.json()["ballots_cast"] == 30 + accepted
    assert await cast(service, vote_id, racing[-1], "approve") == 409  # closed now
