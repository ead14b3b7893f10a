"""Across services: a resolution adopted at a tripartite meeting reaches resources' projects list (over
Kafka) for a team or resource to claim and lead, once even when the event is delivered twice."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events.deliberation import ResolutionAdopted
from civicgrid_runtime.auth import Role
from tests.integration.deliberation.conftest import DELIBERATION, Running, deliberation_events
from tests.integration.deliberation.test_meetings import meeting_body, posts
from tests.integration.resources.conftest import running, settings_for
from tests.support.kafka import committed_offset, wait_for
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


async def test_an_adopted_resolution_is_put_on_the_communitys_projects_list_once(
    service: Running, community: str, servers: Servers, tmp_path: Path, mongo_client: Any
) -> None:
    settings = settings_for(
        servers, tmp_path, f"t_resources_delib_{uuid.uuid4().hex[:8]}", service.settings.topic_suffix
    )
    async with running(settings) as resources:
        compound, tag = f"{community}-C01", community[-3:]
        await service.seed_posts(community, posts(community, compound, tag))
        staff = service.coordinator()
        mid = (await service.client.post("/meetings", json=meeting_body(compound), headers=staff)).json()[
            "meeting_id"
        ]
        people = [f"sec-{tag}", f"chair-{tag}", f"mgr-{tag}"]
        await service.client.post(f"/meetings/{mid}/attendance", json={"person_ids": people}, headers=staff)
        await service.client.post(f"/meetings/{mid}/hold", json={"minutes": ""}, headers=staff)
        body = {"title": "楼道加装扶手", "summary": "共建单位领办", "approve": 3, "oppose": 0}
        resolution = await service.client.post(f"/meetings/{mid}/resolutions", json=body, headers=staff)
        rid = resolution.json()["resolution_id"]
        reader = resources.auth(Role.COORDINATOR, community[:9])

        async def needs() -> list[dict[str, Any]]:
            answer = await resources.client.get(
                f"/needs?community_code={community}&list=projects", headers=reader
            )
            assert answer.status_code == 200, answer.text
            return [n for n in answer.json() if n["id"] == f"project-{rid}"]

        assert await wait_for(needs, timeout=60), "resources never put the resolution on the projects list"
        [need] = await needs()
        assert (need["title"], need["tags"], need["slots"]) == ("楼道加装扶手", ["resolution", "project"], 1)
        assert need["resolution_id"] == rid
        assert mid in need["description"]

        # The same event delivered again (a relay retry): still one need, once resources has read it.
        [(_, data)] = await deliberation_events(
            service, lambda h, d: d.get("resolution_id") == rid, expected=1
        )
        record = new_event(
            ResolutionAdopted.model_validate(data), source="/civicgrid/deliberation"
        ).to_kafka()
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(
                service.topic(DELIBERATION), record.value, key=record.key, headers=list(record.headers)
            )
        finally:
            await producer.stop()
        group = f"{settings.consumer_group}.deliberation"
        topic = service.topic(DELIBERATION)

        async def read_past_it() -> bool:
            committed = await committed_offset(settings.kafka_bootstrap_servers, group, topic, sent.partition)
            return committed is not None and committed > sent.offset

        assert await wait_for(read_past_it, timeout=60), "resources never read the redelivered event"
        assert len(await needs()) == 1
    await mongo_client.drop_database(settings.mongo_database)
