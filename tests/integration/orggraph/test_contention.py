"""Many writers at once on one post, through the HTTP app, against the real Neo4j: every answer is a 2xx or
a 4xx naming its rule, never a 5xx, and what is stored stays consistent (issue 8, "concurrent appointments
to one post")."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.integration.orggraph.builders import form, person
from tests.integration.orggraph.conftest import Api, Community, NewCommunity

pytestmark = pytest.mark.integration

WRITERS = 50


def _appointment(person_id: str, org_id: str, post: str, start: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "org_id": org_id,
        "post": post,
        "start_date": start,
        "basis": "election",
        "basis_reference": "2024年换届选举",
    }


def _assert_each_answer_is_a_success_or_a_named_refusal(responses: list[httpx.Response]) -> Counter[Any]:
    """Returns the outcomes: status codes for successes, (status, rule) for refusals."""
    outcomes: Counter[Any] = Counter()
    for response in responses:
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            body = response.json()
            assert body.get("rule"), f"a refusal must name its rule: {response.text}"
            outcomes[(response.status_code, body["rule"])] += 1
        else:
            outcomes[response.status_code] += 1
    return outcomes


async def _people(api: Api, c: Community, n: int) -> list[str]:
    return [await person(api, c, f"候选人{i}") for i in range(n)]


async def _current_holders(api: Api, post_id: str, on: str) -> list[dict[str, Any]]:
    answer = await api.ok("GET", f"/posts/{post_id}/holders", on=on)
    return list(answer["holders"])


async def test_fifty_concurrent_appointments_to_one_single_holder_post_seat_exactly_one(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    candidates = await _people(api, c, WRITERS)
    responses = await asyncio.gather(
        *(api.post("/memberships", _appointment(p, committee, "director", "2024-01-01")) for p in candidates)
    )
    outcomes = _assert_each_answer_is_a_success_or_a_named_refusal(list(responses))
    assert outcomes == Counter({201: 1, (422, "single_holder_post"): WRITERS - 1})
    holders = await _current_holders(api, f"{committee}:director", "2024-06-01")
    assert len(holders) == 1
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert holders[0]["person_id"] == winner["person_id"]


async def test_fifty_concurrent_appointments_to_one_multi_seat_post_all_succeed(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    candidates = await _people(api, c, WRITERS)
    responses = await asyncio.gather(
        *(
            api.post("/memberships", _appointment(p, committee, "committee_member", "2024-01-01"))
            for p in candidates
        )
    )
    outcomes = _assert_each_answer_is_a_success_or_a_named_refusal(list(responses))
    assert outcomes == Counter({201: WRITERS})
    holders = await _current_holders(api, f"{committee}:committee_member", "2024-06-01")
    assert sorted(h["person_id"] for h in holders) == sorted(candidates)


async def test_a_mix_of_appointments_ends_and_replays_on_one_post_stays_consistent(
    api: Api, new_community: NewCommunity
):
    """The holder's term ends while 40 people are appointed from the next day; replays (same
    Idempotency-Key) and repeated ends race with them."""
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    holder, replayer, *candidates = await _people(api, c, 42)
    first = await api.post("/memberships", _appointment(holder, committee, "director", "2023-01-01"))
    assert first.status_code == 201, first.text
    membership = first.json()["membership_id"]
    end = {"end_date": "2024-12-31", "reason": "term_expired"}
    key = f"replay-{uuid.uuid4().hex}"
    replayed = _appointment(replayer, committee, "director", "2025-01-01")
    calls = [
        api.post("/memberships", _appointment(p, committee, "director", "2025-01-01")) for p in candidates
    ]
    calls += [api.post(f"/memberships/{membership}/end", end) for _ in range(4)]
    calls += [api.post(f"/memberships/{membership}/end", {**end, "end_date": "2024-11-30"})]
    calls += [api.post("/memberships", replayed, key=key) for _ in range(5)]
    responses = list(await asyncio.gather(*calls))
    _assert_each_answer_is_a_success_or_a_named_refusal(responses)
    ends = responses[len(candidates) : len(candidates) + 5]
    assert {r.json()["end_date"] for r in ends if r.status_code == 200} in ({"2024-12-31"}, {"2024-11-30"})
    replays = [r.json() for r in responses[-5:] if r.status_code < 300]
    assert len({r["membership_id"] for r in replays}) <= 1, "a replay answers the first call's result"
    holders_after = await _current_holders(api, f"{committee}:director", "2025-06-01")
    assert len(holders_after) == 1, holders_after
    holders_before = await _current_holders(api, f"{committee}:director", "2024-06-01")
    assert [h["person_id"] for h in holders_before] == [holder]
    seated = [r.json()["person_id"] for r in responses if r.status_code == 201]
    assert holders_after[0]["person_id"] in seated
