"""Who reads a topic: coordinators of its region, and residents of its community (found by the security
suite: any signed-in person, of any street, read every topic)."""

from __future__ import annotations

import pytest

from civicgrid_deliberation.service_layer import topics
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import PermissionDenied
from tests.unit.deliberation.fakes import fake_context

COMMUNITY = "420106002003"
COMPOUND = f"{COMMUNITY}-C01"
OTHER_COMMUNITY = "420106087005"


def member(person: str) -> Principal:
    return Principal(f"m-{person}", frozenset({Role.MEMBER}), person_id=person)


async def test_a_resident_of_the_community_reads_its_topics_and_nobody_else_signed_in_as_a_member() -> None:
    ctx, _, graph, _, _ = fake_context()
    graph.household(f"{COMPOUND}-B01-U1-101", COMPOUND, 80, ["owner"])
    graph.household(f"{COMMUNITY}-C02-B01-U1-101", f"{COMMUNITY}-C02", 80, ["neighbour-compound"])
    graph.household(f"{OTHER_COMMUNITY}-C01-B01-U1-101", f"{OTHER_COMMUNITY}-C01", 80, ["elsewhere"])
    raised, _ = await topics.raise_topic(ctx, member("owner"), topics.RaiseTopic(COMPOUND, "加装电梯"), None)

    assert (await topics.read(ctx, member("owner"), raised["topic_id"]))["title"] == "加装电梯"
    assert (await topics.read(ctx, member("neighbour-compound"), raised["topic_id"]))["title"] == "加装电梯"
    for outsider in ("elsewhere", "nobody"):
        with pytest.raises(PermissionDenied):
            await topics.read(ctx, member(outsider), raised["topic_id"])
    with pytest.raises(PermissionDenied):  # a token naming no person (an integration) reads none
        await topics.read(ctx, Principal("svc", frozenset({Role.INTEGRATION})), raised["topic_id"])
