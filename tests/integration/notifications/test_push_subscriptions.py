"""Push subscriptions: only push services' https endpoints (no SSRF), deletable by their member only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_notifications.adapters.channels.webpush import WebPushChannel, load_or_create_vapid_key
from civicgrid_notifications.adapters.mongo_delivery import MongoDeliveryStore
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.adapters.mongo_preferences import MongoPreferenceStore
from civicgrid_notifications.domain.model import FeedEntry, Message, Priority, entry_id
from civicgrid_notifications.domain.push_endpoints import PushEndpointPolicy
from civicgrid_notifications.service_layer.delivery import DeliveryWorker
from tests.integration.notifications import facts
from tests.integration.notifications.gateways import fake_gateway
from tests.integration.notifications.harness import RunningService, eventually, start_service, stop_service
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

KEYS = {
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}


def _subscription(endpoint: str) -> dict[str, Any]:
    return {"endpoint": endpoint, "keys": KEYS, "expirationTime": None}


async def test_only_https_endpoints_of_known_push_services_are_accepted_and_refusals_name_the_rule(
    notifications: RunningService,
) -> None:
    person = facts.uid("p")
    url = f"{notifications.base_url}/members/{person}/push-subscriptions"
    mine = notifications.auth(person)
    refused = {
        "http://fcm.googleapis.com/fcm/send/abc": "push_endpoint_https",
        "https://10.0.0.5/push": "push_endpoint_private_address",
        "https://169.254.169.254/latest/meta-data/": "push_endpoint_private_address",
        "https://[fe80::1]/push": "push_endpoint_private_address",
        "https://0x0a.1/push": "push_endpoint_private_address",
        "https://evil.example/push": "push_endpoint_host",
        "https://fcm.googleapis.com.evil.example/push": "push_endpoint_host",
        "https://me:pw@fcm.googleapis.com/fcm/send/abc": "push_endpoint_credentials",
    }
    for endpoint, rule in refused.items():
        answer = await notifications.http.post(url, json=_subscription(endpoint), headers=mine)
        assert (answer.status_code, answer.json().get("rule")) == (422, rule), endpoint

    endpoint = f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}"
    created = await notifications.http.post(url, json=_subscription(endpoint), headers=mine)
    assert created.status_code == 201
    again = await notifications.http.post(url, json=_subscription(endpoint), headers=mine)
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    listed = (await notifications.http.get(url, headers=mine)).json()["items"]
    assert [(s["id"], s["host"]) for s in listed] == [(created.json()["id"], "fcm.googleapis.com")]


async def test_a_subscription_is_deleted_by_its_member_only_and_deleting_twice_is_no_error(
    notifications: RunningService,
) -> None:
    owner, intruder = facts.uid("o"), facts.uid("i")
    url = f"{notifications.base_url}/members/{owner}/push-subscriptions"
    endpoint = f"https://updates.push.services.mozilla.com/wpush/v2/{uuid.uuid4().hex}"
    created = await notifications.http.post(
        url, json=_subscription(endpoint), headers=notifications.auth(owner)
    )
    sub = created.json()["id"]

    theirs = await notifications.http.delete(f"{url}/{sub}", headers=notifications.auth(intruder))
    assert theirs.status_code == 403
    assert [
        s["id"]
        for s in (await notifications.http.get(url, headers=notifications.auth(owner))).json()["items"]
    ] == [sub]
    for _ in range(2):
        gone = await notifications.http.delete(f"{url}/{sub}", headers=notifications.auth(owner))
        assert gone.status_code == 204
    assert (await notifications.http.get(url, headers=notifications.auth(owner))).json()["items"] == []
    malformed = await notifications.http.delete(f"{url}/not-an-id", headers=notifications.auth(owner))
    assert malformed.status_code == 422


async def test_without_the_development_setting_a_loopback_receiver_is_refused(
    servers: Servers, notifications_keys: Path, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    suffix = uuid.uuid4().hex[:10]
    database = f"test_notifications_strict_{suffix}"
    strict = await start_service(
        servers.kafka_bootstrap,
        servers.mongo_uri,
        database,
        notifications_keys,
        f"test-notifications-strict-{suffix}",
        push_allow_local_receiver=False,
        run_background_workers=False,
    )
    try:
        person = facts.uid("p")
        url = f"{strict.base_url}/members/{person}/push-subscriptions"
        for endpoint, rule in {
            "http://127.0.0.1:8089/push": "push_endpoint_https",
            "https://127.0.0.1:8089/push": "push_endpoint_private_address",
            "https://[::1]/push": "push_endpoint_private_address",
            "https://localhost/push": "push_endpoint_host",
        }.items():
            answer = await strict.http.post(url, json=_subscription(endpoint), headers=strict.auth(person))
            assert (answer.status_code, answer.json().get("rule")) == (422, rule), endpoint
    finally:
        await stop_service(strict)
        await mongo_client.drop_database(database)


@pytest.fixture
async def db(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    name = f"test_notifications_push_{unique}"
    yield mongo_client[name]
    await mongo_client.drop_database(name)


async def test_a_push_host_that_resolves_to_a_private_address_gets_nothing_at_send_time(
    db: AsyncDatabase[dict[str, Any]], tmp_path: Path
) -> None:
    """DNS rebinding: the host passed the allow-list when stored, but now resolves to 127.0.0.1."""
    member = facts.uid("p")
    prefs = MongoPreferenceStore(db)
    feed = MongoFeedStore(db)
    await feed.ensure_indexes()
    policy = PushEndpointPolicy(allowed_host_suffixes=("localhost",))
    with fake_gateway((201, None)) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        endpoint = f"https://localhost:{port}/push/{member}"
        assert policy.check(endpoint) == "localhost"
        await prefs.add_push_subscription(member, endpoint, KEYS, "localhost", datetime.now(UTC))
        entry = FeedEntry(
            id=entry_id(member, uuid.uuid4().hex, "appointed"),
            member_id=member,
            rule="appointed",
            source_event_id=uuid.uuid4().hex,
            community_code="420106002003",
            message=Message("appointment", Priority.NORMAL, "任职通知：楼栋长", "您已任楼栋长"),
            created_at=datetime.now(UTC),
            deliveries={"web_push": {"status": "queued", "attempts": 0, "due": datetime.now(UTC)}},
        )
        await feed.add_entries([entry])
        async with httpx.AsyncClient() as http:
            channel = WebPushChannel(
                http,
                load_or_create_vapid_key(tmp_path / "vapid.pem"),
                "mailto:ops@example.org",
                policy=policy,
            )
            worker = DeliveryWorker(MongoDeliveryStore(db), prefs, {"web_push": channel})

            async def final() -> dict[str, Any] | None:
                await worker.run_once()
                doc = await db["feed"].find_one({"_id": entry.id}) or {}
                state: dict[str, Any] = doc["deliveries"]["web_push"]
                return state if state["status"] != "queued" else None

            state = await eventually(final, what="the refused delivery to be recorded")
        assert receiver.received == []
    assert state["status"] == "failed"
    assert "push_endpoint_private_address" in state["last_error"]
