"""Kill the notifications service in the middle of a burst, restart it: every entry exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from civicgrid_runtime.auth import Role, TokenIssuer
from tests.e2e.processes import Stack
from tests.integration.notifications import facts
from tests.integration.notifications.harness import Kafka, eventually

pytestmark = pytest.mark.e2e

PEOPLE_PER_COMMUNITY = 5
POSTS_EACH = 6


async def count(client: httpx.AsyncClient, url: str, person: str, token: str) -> int:
    response = await client.get(
        f"{url}/members/{person}/feed", params={"limit": 100}, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return len(response.json()["items"])


async def test_a_service_killed_mid_burst_and_restarted_ends_with_every_entry_exactly_once(
    stack: Stack, kafka: Kafka, issuer: TokenIssuer
) -> None:
    service = stack.service("notifications", CONSUMER_OFFSET_RESET="latest")
    await asyncio.to_thread(service.start)
    admin = issuer.mint("e2e-admin", [Role.ADMIN])
    communities = [facts.new_community() for _ in range(3)]
    orgs = {c: facts.uid("org") for c in communities}
    people = {c: [facts.uid("p") for _ in range(PEOPLE_PER_COMMUNITY)] for c in communities}
    sentinels = {c: facts.uid("s") for c in communities}

    async with httpx.AsyncClient(timeout=10) as client:
        probes = {c: facts.uid("probe") for c in communities}

        async def consuming() -> bool:
            # A new group starts at the latest offsets; once a probe of every community is consumed, the
            # group has committed offsets on the partitions of the burst, so a restart resumes from there.
            for c in communities:
                await kafka.publish(facts.organisation(c, orgs[c]), facts.appointed(c, probes[c], orgs[c]))
            return all([await count(client, service.url, probes[c], admin) > 0 for c in communities])

        await eventually(consuming, timeout=90, interval=1.0, what="the new consumer group to be assigned")

        burst = []
        for _ in range(POSTS_EACH):
            for c in communities:
                burst += [facts.appointed(c, p, orgs[c]) for p in people[c]]
        burst += [facts.appointed(c, sentinels[c], orgs[c]) for c in communities]
        before_burst = await feed_size(stack)
        publishing = asyncio.create_task(kafka.publish(*burst))
        await eventually(
            feed_size_of(stack, above=before_burst + 10),
            timeout=60,
            interval=0.02,
            what="the burst to be under way",
        )
        service.kill()
        written_before_kill = await feed_size(stack)
        await publishing
        await asyncio.to_thread(service.start)

        for c in communities:  # one partition per community: its sentinel comes after all its burst
            await eventually(
                counter(client, service.url, sentinels[c], admin), timeout=120, what=f"sentinel {c}"
            )
        counts = {p: await count(client, service.url, p, admin) for c in communities for p in people[c]}
        probe_entries = {c: await count(client, service.url, probes[c], admin) for c in communities}
    assert set(counts.values()) == {POSTS_EACH}, counts
    expected_total = sum(probe_entries.values()) + len(burst)
    ours = [p for c in communities for p in (*people[c], sentinels[c], probes[c])]
    stored = await feed_size(stack, members=ours)
    assert stored == expected_total, f"killed after {written_before_kill} entries"


def counter(client: httpx.AsyncClient, url: str, person: str, token: str) -> Callable[[], Awaitable[int]]:
    async def probe() -> int:
        return await count(client, url, person, token)

    return probe


def feed_size_of(stack: Stack, above: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return await feed_size(stack) > above

    return probe


async def feed_size(stack: Stack, members: list[str] | None = None) -> int:
    """Stored feed entries, of everybody or of ``members`` only (the stack is shared by e2e tests)."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(stack.mongo_uri)
    query: dict[str, object] = {} if members is None else {"member_id": {"$in": members}}
    try:
        return await client[stack.database("notifications")]["feed"].count_documents(query)
    finally:
        await client.close()
