"""A coordinator convenes a tripartite joint meeting; participants come from org-graph's posts; an adopted
resolution is published as an event."""

from __future__ import annotations

import pytest

from tests.integration.deliberation.conftest import Running, deliberation_events

pytestmark = pytest.mark.integration


def posts(community: str, compound: str, tag: str) -> list[tuple[str, str, str, str]]:
    return [
        ("party_committee", community, f"pc-{tag}", f"sec-{tag}"),
        ("residents_committee", community, f"rc-{tag}", f"dir-{tag}"),
        ("owners_committee", compound, f"oc-{tag}", f"chair-{tag}"),
        ("property_company", compound, f"pm-{tag}", f"mgr-{tag}"),
        ("owners_committee", f"{community}-C99", f"oc99-{tag}", f"other-{tag}"),  # another compound
    ]


def meeting_body(compound: str) -> dict[str, object]:
    return {
        "level": "compound",
        "place_code": compound,
        "meeting_type": "tripartite_joint_meeting",
        "title": "充电桩安装",
        "scheduled_for": "2026-12-10T19:00:00+08:00",
    }


async def test_a_tripartite_meeting_invites_the_two_committees_the_owners_committee_and_the_property_company(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    await service.seed_posts(community, posts(community, compound, tag))
    answer = await service.client.post(
        "/meetings", json=meeting_body(compound), headers={**service.coordinator(), "Idempotency-Key": "m-1"}
    )
    assert answer.status_code == 201, answer.text
    meeting = answer.json()
    parties = {p["person_id"]: (p["org_kind"], p["party"]) for p in meeting["participants"]}
    assert parties == {
        f"sec-{tag}": ("party_committee", "community"),
        f"dir-{tag}": ("residents_committee", "community"),
        f"chair-{tag}": ("owners_committee", "owners"),
        f"mgr-{tag}": ("property_company", "property"),
    }

    again = await service.client.post(
        "/meetings", json=meeting_body(compound), headers={**service.coordinator(), "Idempotency-Key": "m-1"}
    )
    assert again.status_code == 200
    assert again.json()["meeting_id"] == meeting["meeting_id"]
    other = await service.client.post(
        "/meetings",
        json={**meeting_body(compound), "title": "另一件事"},
        headers={**service.coordinator(), "Idempotency-Key": "m-1"},
    )
    assert other.status_code == 409
    assert other.json()["field"] == "Idempotency-Key"

    listed = await service.client.get(f"/meetings?place_code={compound}", headers=service.coordinator())
    assert [m["meeting_id"] for m in listed.json()] == [meeting["meeting_id"]]
    street = await service.client.get("/meetings?place_code=420106002", headers=service.coordinator())
    assert meeting["meeting_id"] in [m["meeting_id"] for m in street.json()]
    similar = await service.client.get(f"/meetings?place_code={community}-C0", headers=service.coordinator())
    assert similar.json() == []
    mine = await service.client.get("/meetings?mine=true", headers=service.member(f"chair-{tag}"))
    assert [m["meeting_id"] for m in mine.json()] == [meeting["meeting_id"]]

    convened = await deliberation_events(
        service, lambda h, d: h.get("ce_subject") == meeting["meeting_id"], expected=1
    )
    assert [t for t, _ in convened] == ["cn.civicgrid.deliberation.meeting.convened.v1"]
    assert sorted(convened[0][1]["participant_person_ids"]) == sorted(parties)


async def test_an_adopted_resolution_of_the_meeting_is_published_for_a_team_to_lead(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    await service.seed_posts(community, posts(community, compound, tag))
    staff = service.coordinator()
    meeting = (await service.client.post("/meetings", json=meeting_body(compound), headers=staff)).json()
    mid = meeting["meeting_id"]
    present = [f"sec-{tag}", f"chair-{tag}", f"mgr-{tag}"]
    assert (
        await service.client.post(f"/meetings/{mid}/attendance", json={"person_ids": present}, headers=staff)
    ).is_success
    held = await service.client.post(f"/meetings/{mid}/hold", json={"minutes": "三方同意安装"}, headers=staff)
    assert held.json()["status"] == "held"
    body = {
        "title": "安装20个充电桩",
        "summary": "物业负责施工",
        "approve": 3,
        "oppose": 0,
        "request_id": "req-7",
    }
    headers = {**staff, "Idempotency-Key": "r-1"}
    resolution = await service.client.post(f"/meetings/{mid}/resolutions", json=body, headers=headers)
    assert resolution.status_code == 201, resolution.text
    decision = resolution.json()["decision"]
    assert decision["outcome"] == "adopted"
    attendance = next(m for m in decision["measures"] if m["name"] == "attendance")
    assert (attendance["numerator"], attendance["denominator"]) == (3, 4)
    repeat = await service.client.post(f"/meetings/{mid}/resolutions", json=body, headers=headers)
    assert repeat.status_code == 200
    assert repeat.json()["resolution_id"] == resolution.json()["resolution_id"]
    other = await service.client.post(
        f"/meetings/{mid}/resolutions", json={**body, "approve": 2}, headers=headers
    )
    assert other.status_code == 409

    rid = resolution.json()["resolution_id"]
    adopted = await deliberation_events(service, lambda h, d: h.get("ce_subject") == rid, expected=1)
    assert [t for t, _ in adopted] == ["cn.civicgrid.deliberation.resolution.adopted.v1"]
    data = adopted[0][1]
    assert (data["meeting_id"], data["request_id"], data["compound_code"]) == (mid, "req-7", compound)


async def test_a_coordinator_of_another_street_may_not_convene_here(service: Running, community: str) -> None:
    answer = await service.client.post(
        "/meetings", json=meeting_body(f"{community}-C01"), headers=service.coordinator("420106003")
    )
    assert answer.status_code == 403


async def test_a_meeting_type_at_the_wrong_level_is_a_problem_naming_the_field(
    service: Running, community: str
) -> None:
    body = {**meeting_body(f"{community}-C01"), "level": "building", "place_code": f"{community}-C01-B01"}
    answer = await service.client.post("/meetings", json=body, headers=service.coordinator())
    assert answer.status_code == 422
    assert answer.json()["field"] == "level"


async def test_a_compound_with_no_property_company_cannot_hold_a_tripartite_meeting(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    await service.seed_posts(community, posts(community, compound, tag)[:3])
    answer = await service.client.post(
        "/meetings", json=meeting_body(compound), headers=service.coordinator()
    )
    assert answer.status_code == 422
    assert answer.json()["missing"] == ["property"]
