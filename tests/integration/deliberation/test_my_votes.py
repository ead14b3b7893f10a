"""A member's own votes (the phone app's 议事 screen): which votes of their compounds they may cast for,
for which households, with their ballots; the decision's arithmetic once closed. And the cross-origin
rules that let the phone app (served by notifications) call this API: listed origins only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.deliberation.conftest import Running

pytestmark = pytest.mark.integration

APP_ORIGIN = "http://127.0.0.1:8003"  # notifications in development: the default allowed origin


async def open_vote(service: Running, compound: str, title: str = "更换电梯") -> str:
    answer = await service.client.post(
        "/votes",
        json={
            "compound_code": compound,
            "title": title,
            "matter": "use_maintenance_fund",
            "closes_at": "2099-01-01T00:00:00Z",
        },
        headers=service.coordinator(),
    )
    assert answer.status_code == 201, answer.text
    vote_id: str = answer.json()["vote_id"]
    return vote_id


async def mine(service: Running, person: str) -> list[dict[str, Any]]:
    answer = await service.client.get("/me/votes", headers=service.member(person))
    assert answer.status_code == 200, answer.text
    votes: list[dict[str, Any]] = answer.json()
    return votes


async def test_an_owner_sees_the_votes_of_their_compound_with_the_households_they_vote_for_and_their_ballots(
    service: Running, community: str
) -> None:
    compound, tag = f"{community}-C01", community[-3:]
    wife, husband, neighbour, landlord = (f"{n}-{tag}" for n in ("wife", "husband", "neighbour", "landlord"))
    codes = await service.seed_households(
        community,
        compound,
        [(90.0, [wife, husband]), (60.0, [neighbour]), (70.0, [landlord]), (50.0, [landlord])],
        representative=f"rep-{tag}",
    )
    await service.seed_households(community, f"{community}-C02", [(80.0, [f"elsewhere-{tag}"])])
    vote_id = await open_vote(service, compound)

    [listed] = await mine(service, wife)
    assert (listed["vote_id"], listed["title"], listed["status"], listed["can_vote"]) == (
        vote_id,
        "更换电梯",
        "open",
        True,
    )
    assert listed["my_voters"] == [
        {"voter_id": codes[0], "households": [codes[0]], "area_m2": 90.0, "choice": None}
    ]
    assert listed["my_households"] == [{"household_code": codes[0], "role": "owner"}]

    cast = await service.client.post(
        f"/votes/{vote_id}/ballots", json={"choice": "approve"}, headers=service.member(wife)
    )
    assert cast.status_code == 200, cast.text
    # The household's ballot, whichever co-owner cast it: the husband sees it too.
    for owner in (wife, husband):
        view = (await service.client.get(f"/me/votes/{vote_id}", headers=service.member(owner))).json()
        assert [v["choice"] for v in view["my_voters"]] == ["approve"]
        assert view["rules"]["vote_basis"] == "per_household"
        assert view["decision"] is None
    # An owner of two units casts two votes: both are listed, none cast yet.
    [landlords] = await mine(service, landlord)
    assert sorted(v["voter_id"] for v in landlords["my_voters"]) == sorted(codes[2:4])
    assert {v["choice"] for v in landlords["my_voters"]} == {None}

    # The representative keeps in touch with the households but owns none: reads, cannot vote.
    rep = (await service.client.get(f"/me/votes/{vote_id}", headers=service.member(f"rep-{tag}"))).json()
    assert (rep["my_voters"], rep["can_vote"]) == ([], False)
    # An owner elsewhere: no vote listed, and this one is not theirs to read.
    assert await mine(service, f"elsewhere-{tag}") == []
    refused = await service.client.get(f"/me/votes/{vote_id}", headers=service.member(f"elsewhere-{tag}"))
    assert refused.status_code == 403

    ballots = [(neighbour, "oppose", None), (landlord, "approve", codes[2]), (landlord, "approve", codes[3])]
    for person, choice, voter in ballots:
        body = {"choice": choice} if voter is None else {"choice": choice, "voter_id": voter}
        answer = await service.client.post(
            f"/votes/{vote_id}/ballots", json=body, headers=service.member(person)
        )
        assert answer.status_code == 200, answer.text
    closed = await service.client.post(f"/votes/{vote_id}/close", headers=service.coordinator())
    assert closed.status_code == 200, closed.text

    after = (await service.client.get(f"/me/votes/{vote_id}", headers=service.member(husband))).json()
    assert (after["status"], after["can_vote"]) == ("closed", False)
    decision = after["decision"]
    # 4 households, 270 m²; all took part; approving 3 households with 210 m² of 270: adopted.
    assert decision["outcome"] == "adopted"
    found = {m["name"]: (m["numerator"], m["denominator"], m["met"]) for m in decision["measures"]}
    assert found["approval_owners"] == (3, 4, True)
    assert found["approval_area"] == (210, 270, True)
    [listed_after] = await mine(service, husband)
    assert (listed_after["status"], listed_after["outcome"], listed_after["can_vote"]) == (
        "closed",
        "adopted",
        False,
    )


async def test_a_person_with_no_household_has_no_votes_and_a_service_token_is_refused(
    service: Running, community: str
) -> None:
    assert await mine(service, f"nobody-{community[-3:]}") == []
    staff = await service.client.get("/me/votes", headers=service.coordinator())
    assert staff.status_code == 403  # a coordinator's token names no person


async def test_the_phone_apps_origin_may_call_the_api_from_a_browser_and_no_other_origin(
    service: Running,
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = await service.client.options("/votes/vt-x/ballots", headers={"Origin": APP_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in allowed.headers

    other = await service.client.options(
        "/votes/vt-x/ballots", headers={"Origin": "https://evil.example", **preflight}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers

    # A refusal carries the header too, so the page can read it (and refresh its token on a 401).
    unsigned = await service.client.get("/me/votes", headers={"Origin": APP_ORIGIN})
    assert unsigned.status_code == 401
    assert unsigned.headers["access-control-allow-origin"] == APP_ORIGIN
    foreign = await service.client.get("/me/votes", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers
