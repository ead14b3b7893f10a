"""deliberation: both sides of every relation (issue 9 item 1 for issue 11's service).

A coordinator acts only where both the forum and what it takes in (a topic, a vote's compound) lie in
their region; a member casts, supports and grades only as themself, for households they own, in
compounds where they own one. Refused = 403/404/422 with no object in the answer and nothing changed.
The public disclosure pages (码上公开) are read without a token and name nobody.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.security.world import Api, Persona, World

REFUSED = (403, 404, 422)


def refused(response: httpx.Response, what: str) -> None:
    assert response.status_code in REFUSED, f"{what}: {response.status_code} {response.text[:300]}"
    answer = response.json() if "json" in response.headers.get("content-type", "") else {}
    carried = {"meeting_id", "vote_id", "topic_id", "appraisal_id", "item_id"} & set(answer)
    assert not carried, f"{what}: the refusal carries an object: {response.text[:300]}"


async def dl(api: Api, method: str, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
    return await api.call("deliberation", method, path, token, **kwargs)


async def test_a_coordinator_of_another_street_convenes_opens_and_publishes_nothing_in_street_a(
    api: Api, world: World
) -> None:
    elsewhere = world.coordinator(world.region.street_b)
    title = f"越权{uuid.uuid4().hex[:6]}"
    meeting = {**world.meeting_body(title=title)}
    compound_meeting = {**meeting, "level": "compound", "place_code": world.compound_a}
    for body in (meeting, compound_meeting):
        refused(await dl(api, "POST", "/meetings", elsewhere, json=body), f"convene in {body['place_code']}")
    refused(
        await dl(api, "POST", "/votes", elsewhere, json={**world.vote_body(), "title": title}),
        "open a vote in compound A",
    )
    disclosure = {"place_code": world.community_a, "kind": "finance", "title": title}
    refused(await dl(api, "POST", "/disclosures", elsewhere, json=disclosure), "disclose for community A")
    refused(
        await dl(api, "POST", "/appraisals", elsewhere, json={**world.appraisal_body(), "title": title}),
        "open an appraisal of community A",
    )
    rules = {"silent_majority": True, "name": title}
    refused(await dl(api, "PUT", f"/compounds/{world.compound_a}/rules", elsewhere, json=rules), "set rules")

    meetings = await world.dl("GET", "/meetings", params={"place_code": world.community_a, "limit": 500})
    assert title not in {m["title"] for m in meetings}
    votes = await api.ok("deliberation", "GET", "/votes", world.member(Persona.RESIDENT))
    assert title not in {v["title"] for v in votes}
    public = await api.ok("deliberation", "GET", f"/public/disclosures/{world.community_a}", None)
    assert title not in {i["title"] for i in public}
    assert (await world.dl("GET", f"/compounds/{world.compound_a}/rules"))["rules"]["name"] != title


async def test_a_coordinator_of_another_street_cannot_run_street_a_s_meeting_or_close_its_vote(
    api: Api, world: World
) -> None:
    elsewhere = world.coordinator(world.region.street_b)
    meeting = await world.fresh_meeting()
    vote = await world.fresh_vote()
    for path, body in (
        (f"/meetings/{meeting}/attendance", {"person_ids": [world.person(Persona.NEIGHBOUR)]}),
        (f"/meetings/{meeting}/agenda", {"topic_id": world.ids["topic_a"]}),
        (f"/meetings/{meeting}/hold", {"minutes": "越权"}),
        (f"/meetings/{meeting}/close", None),
        (f"/votes/{vote}/close", None),
    ):
        refused(await dl(api, "POST", path, elsewhere, json=body), path)
    assert (await world.dl("GET", f"/meetings/{meeting}"))["status"] == "convened"
    read = await world.dl("GET", f"/meetings/{meeting}")
    assert read["attendance"] == []
    assert read["agenda"] == []
    assert (await world.dl("GET", f"/votes/{vote}"))["status"] == "open"


async def test_street_a_s_meetings_and_votes_take_no_topic_of_street_b(api: Api, world: World) -> None:
    here = world.coordinator(world.region.street_a)
    topic_b = await world.fresh_topic(world.compound_b, Persona.NEIGHBOUR)
    meeting = await world.fresh_meeting()
    refused(
        await dl(api, "POST", f"/meetings/{meeting}/agenda", here, json={"topic_id": topic_b}),
        "put street B's topic on street A's agenda",
    )
    agenda = {**world.meeting_body(), "agenda": [{"title": "乙街道议题", "topic_id": topic_b}]}
    refused(await dl(api, "POST", "/meetings", here, json=agenda), "convene with street B's topic")
    refused(
        await dl(api, "POST", "/votes", here, json={**world.vote_body(), "topic_id": topic_b}),
        "open a vote in compound A on street B's topic",
    )
    assert (await world.dl("GET", f"/meetings/{meeting}"))["agenda"] == []
    # and the other side: street B's coordinator does not reach street A's meeting with its own topic
    elsewhere = world.coordinator(world.region.street_b)
    refused(
        await dl(api, "POST", f"/meetings/{meeting}/agenda", elsewhere, json={"topic_id": topic_b}),
        "street B's coordinator adds to street A's agenda",
    )


async def test_a_member_casts_no_ballot_for_a_household_they_do_not_own(api: Api, world: World) -> None:
    vote = await world.fresh_vote()
    bystander, neighbour = world.member(Persona.BYSTANDER), world.member(Persona.NEIGHBOUR)
    for token, body, what in (
        (bystander, {"choice": "oppose", "voter_id": world.household_a}, "a bystander for household A"),
        (bystander, {"choice": "oppose"}, "a bystander with no household"),
        (neighbour, {"choice": "oppose", "voter_id": world.household_a}, "street B's owner for household A"),
        (neighbour, {"choice": "oppose", "voter_id": world.household_b}, "street B's owner, own household"),
        (neighbour, {"choice": "oppose"}, "street B's owner in compound A's vote"),
        (world.member(Persona.CADRE), {"choice": "oppose"}, "a cadre who owns nothing"),
    ):
        refused(await dl(api, "POST", f"/votes/{vote}/ballots", token, json=body), what)
    assert (await world.dl("GET", f"/votes/{vote}"))["ballots_cast"] == 0
    mine = await api.ok("deliberation", "GET", f"/votes/{vote}", world.member(Persona.RESIDENT))
    assert mine["my_ballots"] == {}
    # the owner's own ballot is taken, and is the only one
    cast = await api.ok(
        "deliberation",
        "POST",
        f"/votes/{vote}/ballots",
        world.member(Persona.RESIDENT),
        json={"choice": "approve", "voter_id": world.household_a},
    )
    assert cast["voter_id"] == world.household_a
    assert (await world.dl("GET", f"/votes/{vote}"))["ballots_cast"] == 1


async def test_a_member_supports_and_raises_topics_only_where_they_own_or_live(
    api: Api, world: World
) -> None:
    topic = await world.fresh_topic()
    neighbour = world.member(Persona.NEIGHBOUR)
    refused(
        await dl(api, "POST", f"/topics/{topic}/support", neighbour, json={}), "street B's owner supports"
    )
    refused(
        await dl(api, "POST", f"/topics/{topic}/support", neighbour, json={"voter_id": world.household_b}),
        "street B's owner supports naming their own household",
    )
    refused(
        await dl(api, "POST", f"/topics/{topic}/support", world.member(Persona.BYSTANDER), json={}),
        "a bystander supports",
    )
    assert (await world.dl("GET", f"/topics/{topic}"))["supporters"] == 0
    raised = {"place_code": world.compound_a, "title": "越权议题"}
    refused(await dl(api, "POST", "/topics", neighbour, json=raised), "street B's owner raises in compound A")
    refused(await dl(api, "GET", f"/topics/{topic}", neighbour), "street B's owner reads compound A's topic")
    refused(
        await dl(api, "GET", "/topics", neighbour, params={"place_code": world.compound_a}),
        "street B's owner lists compound A's topics",
    )


async def test_only_the_named_appraisers_grade_and_only_the_named_members(api: Api, world: World) -> None:
    appraisal = await world.fresh_appraisal()
    grades = {"grades": {world.person(Persona.CADRE): "dissatisfied"}}
    for persona in (Persona.BYSTANDER, Persona.NEIGHBOUR, Persona.CADRE):
        refused(
            await dl(api, "POST", f"/appraisals/{appraisal}/grades", world.member(persona), json=grades),
            f"the {persona.value} grades",
        )
    stranger = {"grades": {world.person(Persona.NEIGHBOUR): "dissatisfied"}}
    refused(
        await dl(
            api, "POST", f"/appraisals/{appraisal}/grades", world.member(Persona.RESIDENT), json=stranger
        ),
        "the appraiser grades someone not appraised",
    )
    assert (await world.dl("GET", f"/appraisals/{appraisal}"))["graded"] == 0


async def test_the_public_pages_are_read_without_a_token_and_name_nobody(api: Api, world: World) -> None:
    # a finance item, a vote's decision (one ballot cast) and an appraisal's results are disclosed
    await world.dl(
        "POST",
        "/disclosures",
        json={
            "place_code": world.community_a,
            "kind": "finance",
            "title": "公共收益公示",
            "body": "停车费收入",
            "figures": [{"label": "停车费", "amount": "800.00", "unit": "元"}],
        },
    )
    vote = await world.fresh_vote()
    await api.ok(
        "deliberation",
        "POST",
        f"/votes/{vote}/ballots",
        world.member(Persona.RESIDENT),
        json={"choice": "approve", "voter_id": world.household_a},
    )
    await world.dl("POST", f"/votes/{vote}/close")
    await world.dl("POST", f"/appraisals/{await world.fresh_appraisal(graded=True)}/publish")

    people = [world.person(p) for p in Persona]
    secrets = [
        *people,
        world.household_a,
        world.household_b,
        "sec-coordinator-",
        "sec-admin-",
        "published_by",
    ]
    texts: dict[str, str] = {}
    for place in (world.community_a, world.compound_a):
        for suffix in ("", "/page"):
            answer = await dl(api, "GET", f"/public/disclosures/{place}{suffix}", None)
            assert answer.status_code == 200, f"{place}{suffix}: {answer.status_code}"
            texts[f"{place}{suffix}"] = answer.text
        for suffix, kind in (("/qr.svg", "image/svg+xml"), ("/qr.png", "image/png")):
            answer = await dl(api, "GET", f"/public/disclosures/{place}{suffix}", None)
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith(kind)
    items = {
        i["title"]
        for i in (await api.ok("deliberation", "GET", f"/public/disclosures/{world.community_a}", None))
    }
    assert {"公共收益公示", "年度民主评议"} <= items
    compound_items = await api.ok("deliberation", "GET", f"/public/disclosures/{world.compound_a}", None)
    assert any(i["source_id"] == vote for i in compound_items), "the decision is disclosed"
    found = [f"{where}: {s}" for where, text in texts.items() for s in secrets if s in text]
    assert not found, "the public pages carry personal data or who published: " + "; ".join(found)
