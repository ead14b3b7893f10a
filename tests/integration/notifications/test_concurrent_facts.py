"""Facts of several communities handled at once (the consumer's ``max_in_flight``, keyed by community):
each member still gets exactly their entries, every change its own sequence number, and a
membership's facts their order."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_contracts.events import org
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from tests.integration.notifications import facts
from tests.integration.notifications.conftest import running_notifications
from tests.integration.notifications.harness import RunningService, eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


@pytest.fixture
async def concurrent(
    servers: Servers, notifications_keys: Path, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[RunningService]:
    """An instance handling 8 communities' facts at once (the service's default is one at a time)."""
    async with running_notifications(
        servers, notifications_keys, mongo_client, "notifications-conc", consumer_max_in_flight=8
    ) as service:
        yield service


async def test_a_burst_over_several_communities_gives_each_member_their_entries_once_with_distinct_seqs(
    concurrent: RunningService, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    notifications = concurrent
    assert notifications.settings.consumer_max_in_flight > 1, "the service handles facts concurrently"
    communities = [facts.new_community() for _ in range(6)]
    orgs = {c: facts.uid("org") for c in communities}
    await notifications.kafka.publish(*(facts.organisation(c, orgs[c]) for c in communities))
    # Organisations and memberships travel on different topics, in no order between them: the burst
    # starts once the organisations are known, so each entry can name its organisation (an appointment
    # read before its organisation names the organisation's id; docs/notifications.md, limits).
    organisations = mongo_client[notifications.settings.mongo_database]["organisations"]

    async def organisations_known() -> bool:
        return await organisations.count_documents({"_id": {"$in": list(orgs.values())}}) == len(orgs)

    await eventually(organisations_known, timeout=60, what="the burst's organisations")
    appointments = []
    for n in range(36):
        community = communities[n % len(communities)]
        appointments.append(facts.appointed(community, facts.uid(f"burst{n}"), orgs[community]))
    burst = appointments + random.Random(3).sample(appointments, 12)  # a dozen redelivered
    await notifications.kafka.publish(*burst)

    feed = mongo_client[notifications.settings.mongo_database]["feed"]
    members = [a.data["person_id"] for a in appointments]

    async def all_written() -> bool:
        return await feed.count_documents({"member_id": {"$in": members}}) >= len(members)

    await eventually(all_written, timeout=60, what="every appointment's entry")
    await asyncio.sleep(1)  # the redeliveries, had they written anything, would be there by now
    entries = await feed.find({"member_id": {"$in": members}}).to_list()
    assert sorted(e["member_id"] for e in entries) == sorted(members), "one entry per member, none twice"
    seqs = [e["seq"] for e in entries]
    assert len(set(seqs)) == len(seqs), "each entry has a sequence number of its own"
    expected = "您已于2025-07-01起担任中和社区居民委员会楼栋长（依据：2025年居委会换届选举）。"
    assert {e["body"] for e in entries} == {expected}, "rendered from the fact and its organisation"


async def test_a_membership_whose_end_arrived_first_stays_ended_when_its_start_follows(
    concurrent: RunningService, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    notifications = concurrent
    community, org_id, person, membership = (
        facts.new_community(),
        facts.uid("org"),
        facts.uid("p"),
        facts.uid("m"),
    )
    ended = facts.event(
        org.MembershipEnded(
            community_code=community,
            membership_id=membership,
            end_date=date(2025, 8, 1),
            reason=org.MembershipEndReason.RESIGNED,
        )
    )
    started = facts.appointed(community, person, org_id, membership_id=membership)
    await notifications.kafka.publish(facts.organisation(community, org_id), ended, started)
    await notifications.wait_for_feed(person, 1)
    memberships = mongo_client[notifications.settings.mongo_database]["memberships"]
    doc = await memberships.find_one({"_id": membership})
    assert doc is not None
    assert doc["person_id"] == person, "the start's fields are projected"
    assert doc.get("active") is False, "the end that came first wins"
    assert doc.get("ended") is True


async def test_sequence_numbers_reserved_at_once_in_one_process_are_all_distinct(
    notifications: RunningService, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    # FerretDB 1.24 runs findAndModify without isolation: 50 concurrent $inc gave 4-17 distinct values.
    store = MongoFeedStore(mongo_client[f"{notifications.settings.mongo_database}_seq"])
    try:
        reserved = await asyncio.gather(*(store.next_seq() for _ in range(50)))
        assert sorted(reserved) == list(range(1, 51))
        assert await store.current_seq() == 50
    finally:
        await mongo_client.drop_database(f"{notifications.settings.mongo_database}_seq")
