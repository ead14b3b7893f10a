"""Through the API and Kafka: a resident's topic reaches the 5 % motion; the compound votes on the phone;
the decision is tallied by double majority with its arithmetic and published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.deliberation.conftest import Running, deliberation_events
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


def measures(decision: dict[str, Any]) -> dict[str, tuple[Any, Any, bool]]:
    return {m["name"]: (m["numerator"], m["denominator"], m["met"]) for m in decision["measures"]}


async def test_a_residents_topic_enters_the_agenda_when_owners_of_five_percent_support_it(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    owners = [f"o{i}-{tag}" for i in range(40)]
    await service.seed_households(community, compound, [(88.5, [o]) for o in owners])
    raised = await service.client.post(
        "/topics",
        json={"place_code": compound, "title": "加装电梯", "description": "老楼没有电梯"},
        headers={**service.member(owners[0]), "Idempotency-Key": "t-1"},
    )
    assert raised.status_code == 201, raised.text
    topic = raised.json()
    assert topic["raised_as"] == "resident"

    first = await service.client.post(
        f"/topics/{topic['topic_id']}/support", json={}, headers=service.member(owners[0])
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "raised"
    assert first.json()["motion_status"]["measure"]["numerator"] == 1
    again = await service.client.post(
        f"/topics/{topic['topic_id']}/support", json={}, headers=service.member(owners[0])
    )
    assert again.json()["supporters"] == 1
    second = await service.client.post(
        f"/topics/{topic['topic_id']}/support", json={}, headers=service.member(owners[1])
    )
    assert second.json()["status"] == "on_agenda"
    assert second.json()["reached_now"] is True
    measure = second.json()["motion"]["measure"]
    assert (measure["numerator"], measure["denominator"], measure["threshold"]) == (2, 40, "≥ 1/20")

    stranger = await service.client.post(
        f"/topics/{topic['topic_id']}/support", json={}, headers=service.member(f"stranger-{tag}")
    )
    assert stranger.status_code == 403

    reached = await deliberation_events(
        service, lambda h, d: h.get("ce_subject") == topic["topic_id"], expected=2
    )
    assert [t for t, _ in reached] == [
        "cn.civicgrid.deliberation.topic.raised.v1",
        "cn.civicgrid.deliberation.topic.motion_reached.v1",
    ]
    assert (reached[1][1]["supporters"], reached[1][1]["eligible"]) == (2, 40)


async def test_a_coordinator_raises_a_topic_from_a_resources_request(
    service: Running, community: str
) -> None:
    answer = await service.client.post(
        "/topics",
        json={"place_code": f"{community}-C01", "title": "楼道照明", "request_id": "req-42"},
        headers=service.coordinator(),
    )
    assert answer.status_code == 201
    assert (answer.json()["raised_as"], answer.json()["request_id"]) == ("request", "req-42")


async def test_someone_with_no_household_there_cannot_raise_a_topic(service: Running, community: str) -> None:
    answer = await service.client.post(
        "/topics",
        json={"place_code": f"{community}-C01", "title": "t"},
        headers=service.member("nobody-here"),
    )
    assert answer.status_code == 403


async def test_a_household_vote_is_tallied_by_double_majority_with_its_arithmetic(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    o = [f"v{i}-{tag}" for i in range(10)]
    areas = [120, 120, 90, 90, 90, 60, 60, 60, 60]  # 750 m2, 9 households
    units = [(float(a), [o[i]]) for i, a in enumerate(areas)]
    units[0] = (120.0, [o[0], o[9]])  # H1 co-owned: either owner casts its vote
    codes = await service.seed_households(community, compound, units)
    staff = service.coordinator()
    opened = await service.client.post(
        "/votes",
        json={
            "compound_code": compound,
            "title": "使用维修资金修缮屋面",
            "matter": "use_maintenance_fund",
            "closes_at": "2099-01-01T00:00:00Z",
        },
        headers={**staff, "Idempotency-Key": "v-1"},
    )
    assert opened.status_code == 201, opened.text
    vote_id = opened.json()["vote_id"]
    assert opened.json()["eligible_voters"] == 9

    async def cast(person: str, choice: str) -> int:
        answer = await service.client.post(
            f"/votes/{vote_id}/ballots", json={"choice": choice}, headers=service.member(person)
        )
        return answer.status_code

    assert await cast(o[9], "approve") == 200  # H1 by its co-owner
    assert await cast(o[1], "approve") == 200
    assert await cast(o[2], "approve") == 200
    assert await cast(o[3], "approve") == 200
    assert await cast(o[3], "oppose") == 200  # changed while open
    assert await cast(o[5], "approve") == 200
    assert await cast(o[6], "abstain") == 200
    assert await cast(f"tenant-{tag}", "approve") == 403

    mine = await service.client.get(f"/votes/{vote_id}", headers=service.member(o[3]))
    assert mine.json()["my_ballots"] == {codes[3]: "oppose"}

    closed = await service.client.post(f"/votes/{vote_id}/close", headers=staff)
    assert closed.status_code == 200, closed.text
    decision = closed.json()["decision"]
    assert measures(decision) == {
        "participation_area": (540, 750, True),
        "participation_owners": (6, 9, True),
        "approval_area": (390, 540, True),
        "approval_owners": (4, 6, True),
    }
    assert decision["outcome"] == "adopted"
    assert await cast(o[4], "approve") == 409  # closed: no more ballots
    assert (await service.client.post(f"/votes/{vote_id}/close", headers=staff)).json()[
        "decision"
    ] == decision

    facts = await deliberation_events(service, lambda h, d: d.get("vote_id") == vote_id, expected=3)
    assert [t for t, _ in facts] == [
        "cn.civicgrid.deliberation.vote.opened.v1",
        "cn.civicgrid.deliberation.vote.closed.v1",
        "cn.civicgrid.deliberation.resolution.adopted.v1",
    ]
    assert {m["name"]: m["met"] for m in facts[1][1]["measures"]}["approval_owners"] is True

    page = await service.client.get(f"/public/disclosures/{compound}")
    assert page.status_code == 200
    [item] = [i for i in page.json() if i["source_id"] == vote_id]
    assert item["kind"] == "decision"
    assert not any(person in page.text for person in o)


async def test_silent_owners_follow_the_majority_only_where_the_compound_adopted_the_rule(
    service: Running, community: str
) -> None:
    staff = service.coordinator()
    outcomes = {}
    for suffix, silent in (("C01", False), ("C02", True)):
        compound, tag = f"{community}-{suffix}", f"{community[-3:]}{suffix}"
        owners = [f"s{i}-{tag}" for i in range(10)]
        await service.seed_households(community, compound, [(100.0, [p]) for p in owners])
        rules = await service.client.put(
            f"/compounds/{compound}/rules", json={"silent_majority": silent}, headers=staff
        )
        assert rules.json()["rules"]["silent_majority"] is silent
        vote = await service.client.post(
            "/votes",
            json={
                "compound_code": compound,
                "title": "续聘物业",
                "matter": "property_manager",
                "closes_at": "2099-01-01T00:00:00Z",
            },
            headers=staff,
        )
        vote_id = vote.json()["vote_id"]
        for person, choice in zip(owners[:4], ["approve", "approve", "approve", "oppose"], strict=True):
            answer = await service.client.post(
                f"/votes/{vote_id}/ballots", json={"choice": choice}, headers=service.member(person)
            )
            assert answer.status_code == 200
        outcomes[silent] = (await service.client.post(f"/votes/{vote_id}/close", headers=staff)).json()[
            "decision"
        ]
    assert outcomes[False]["outcome"] == "not_quorate"
    assert measures(outcomes[False])["participation_owners"] == (4, 10, False)
    assert outcomes[True]["outcome"] == "adopted"
    assert outcomes[True]["silent_counted_as"] == "approve"
    assert measures(outcomes[True])["approval_owners"] == (9, 10, True)


async def test_a_vote_closes_by_itself_when_its_time_is_over(service: Running, community: str) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    owners = [f"t{i}-{tag}" for i in range(3)]
    await service.seed_households(community, compound, [(70.0, [o]) for o in owners])
    closes_at = datetime.now(UTC) + timedelta(seconds=8)  # time enough for two ballots on a loaded machine
    vote = await service.client.post(
        "/votes",
        json={
            "compound_code": compound,
            "title": "续聘物业",
            "matter": "property_manager",
            "closes_at": closes_at.isoformat(),
        },
        headers=service.coordinator(),
    )
    vote_id = vote.json()["vote_id"]
    for person in owners[:2]:
        ballot = await service.client.post(
            f"/votes/{vote_id}/ballots", json={"choice": "approve"}, headers=service.member(person)
        )
        assert ballot.status_code == 200

    async def closed() -> dict[str, Any] | None:
        view = (await service.client.get(f"/votes/{vote_id}", headers=service.coordinator())).json()
        return view if view["status"] == "closed" else None

    assert await wait_for(closed, timeout=60), "the vote was never closed"
    view = await closed()
    assert view is not None
    assert measures(view["decision"])["approval_owners"] == (2, 2, True)
    assert view["decision"]["outcome"] == "adopted"  # 2 of 3 took part: exactly 2/3
