"""Idempotency-Key (issue 8): a retry with the same key and body answers the first result; the same key
with another body is a 409 naming the fields that differ; concurrent retries do the work once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.orggraph.builders import form, person
from tests.integration.orggraph.conftest import Api, NewCommunity

pytestmark = pytest.mark.integration


def _key() -> str:
    return f"k-{uuid.uuid4().hex}"


async def test_the_same_key_and_body_answers_the_first_result(api: Api, new_community: NewCommunity):
    c = await new_community()
    body = {"kind": "compound", "code": c.compound(1), "parent_code": c.code, "name": "花园"}
    key = _key()
    first = await api.post("/places", body, key=key)
    again = await api.post("/places", body, key=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


async def test_the_same_key_with_another_body_is_a_409_naming_the_fields_that_differ(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    body = {"kind": "compound", "code": c.compound(1), "parent_code": c.code, "name": "花园"}
    key = _key()
    assert (await api.post("/places", body, key=key)).status_code == 201
    renamed = await api.post("/places", {**body, "name": "花园小区"}, key=key)
    assert renamed.status_code == 409, renamed.text
    answer = renamed.json()
    assert answer["rule"] == "idempotency_key_reused"
    assert answer["differing_fields"] == ["name"]
    assert "name" in answer["message"]
    assert "花园小区" not in renamed.text, "the values are not kept, only which fields differ"


async def test_a_reused_key_on_an_appointment_names_the_person_and_the_date(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    first, second = await person(api, c, "甲"), await person(api, c, "乙")
    body = {
        "person_id": first,
        "org_id": committee,
        "post": "committee_member",
        "start_date": "2024-01-01",
        "basis": "election",
        "basis_reference": "换届",
    }
    key = _key()
    assert (await api.post("/memberships", body, key=key)).status_code == 201
    other = await api.post("/memberships", {**body, "person_id": second, "start_date": "2024-02-01"}, key=key)
    assert other.status_code == 409
    assert other.json()["differing_fields"] == ["person_id", "start_date"]


async def test_a_key_is_scoped_to_its_action(api: Api, new_community: NewCommunity):
    c = await new_community()
    key = _key()
    compound = {"kind": "compound", "code": c.compound(1), "parent_code": c.code, "name": "花园"}
    assert (await api.post("/places", compound, key=key)).status_code == 201
    someone = await api.post("/people", {"display_name": "丙", "community_code": c.code}, key=key)
    assert someone.status_code == 201, "the same key on another action is another request"


async def test_concurrent_retries_with_one_key_do_the_work_once(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    key = _key()
    body = {"display_name": "丁", "community_code": c.code}
    answers = await asyncio.gather(*(api.post("/people", body, key=key) for _ in range(10)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["person_id"] for a in answers}) == 1
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (p:Person {community_code: $c, display_name: '丁'}) RETURN count(p) AS n", c=c.code
    )
    assert records[0]["n"] == 1
