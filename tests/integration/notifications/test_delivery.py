"""Delivery to phones through the real channel adapters, against local stand-ins for the gateways."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import http_ece
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_notifications.adapters.channels.sms import SmsGatewayChannel
from civicgrid_notifications.adapters.channels.wechat import WeChatChannel
from civicgrid_notifications.adapters.mongo_delivery import MongoDeliveryStore
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.adapters.mongo_preferences import MongoPreferenceStore
from civicgrid_notifications.domain.model import FeedEntry, Message, Priority, entry_id
from civicgrid_notifications.domain.preferences import CHINA
from civicgrid_notifications.service_layer.delivery import DeliveryWorker
from civicgrid_runtime.auth import Role
from civicgrid_runtime.stores.mongo import MongoEmbeddedOutbox
from tests.integration.notifications import facts
from tests.integration.notifications.gateways import fake_gateway
from tests.integration.notifications.harness import RunningService, became_true, eventually

pytestmark = pytest.mark.integration


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_a_web_push_is_encrypted_for_the_subscribing_browser_and_signed_with_vapid(
    notifications: RunningService,
) -> None:
    browser_key = ec.generate_private_key(ec.SECP256R1())
    browser_public = browser_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth_secret = uuid.uuid4().bytes
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    with fake_gateway((201, None)) as push_service:
        subscription = {
            "endpoint": f"{push_service.url}/push/{person}",
            "keys": {"p256dh": b64(browser_public), "auth": b64(auth_secret)},
            "expirationTime": None,
        }
        registered = await notifications.http.post(
            f"{notifications.base_url}/members/{person}/push-subscriptions",
            json=subscription,
            headers=notifications.auth(person),
        )
        assert registered.status_code == 201
        await notifications.kafka.publish(
            facts.organisation(community, org_id), facts.appointed(community, person, org_id)
        )
        await eventually(became_true(lambda: bool(push_service.received)), what="the push request")
        entry = (await notifications.wait_for_feed(person, 1))[0]

    pushed = push_service.received[0]
    assert pushed.headers["Content-Encoding"] == "aes128gcm"
    plain = http_ece.decrypt(
        pushed.body, private_key=browser_key, auth_secret=auth_secret, version="aes128gcm"
    )
    message = json.loads(plain)
    assert (message["title"], message["ids"]) == ("任职通知：楼栋长", [entry["id"]])

    scheme, _, params = pushed.headers["Authorization"].partition(" ")
    fields = dict(p.split("=", 1) for p in params.split(","))
    server_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), base64.urlsafe_b64decode(fields["k"] + "==")
    )
    claims = jwt.decode(fields["t"], server_key, algorithms=["ES256"], audience=push_service.url)
    assert scheme == "vapid"
    assert claims["sub"].startswith("mailto:")
    vapid = (await notifications.http.get(f"{notifications.base_url}/push/vapid-public-key")).json()
    assert vapid["public_key"] == fields["k"]

    status_url = f"{notifications.base_url}/members/{person}/feed/{entry['id']}/deliveries"

    async def sent() -> dict[str, Any] | None:
        found: dict[str, Any] = (
            await notifications.http.get(status_url, headers=notifications.auth(person))
        ).json()
        return found if found["deliveries"]["web_push"]["status"] == "sent" else None

    deliveries = (await eventually(sent, what="the delivery to be recorded"))["deliveries"]
    assert deliveries["web_push"]["attempts"] == 1


@pytest.fixture
async def db(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    name = f"test_notifications_delivery_{unique}"
    yield mongo_client[name]
    await mongo_client.drop_database(name)


async def _entry(db: AsyncDatabase[dict[str, Any]], channel: str, member: str) -> str:
    feed = MongoFeedStore(db)
    await feed.ensure_indexes()
    entry = FeedEntry(
        id=entry_id(member, uuid.uuid4().hex, "request_dispatched"),
        member_id=member,
        rule="request_dispatched",
        source_event_id=uuid.uuid4().hex,
        community_code="420106002003",
        message=Message("request", Priority.HIGH, "新派单：求助·楼道照明", "3栋2单元楼道灯不亮"),
        created_at=datetime.now(UTC),
        deliveries={channel: {"status": "queued", "attempts": 0, "due": datetime.now(UTC), "digest": False}},
    )
    assert await feed.add_entries([entry]) == 1
    return entry.id


async def _run_until_final(
    worker: DeliveryWorker, db: AsyncDatabase[dict[str, Any]], entry: str, channel: str
) -> Any:
    async def final() -> dict[str, Any] | None:
        await worker.run_once()
        doc = await db["feed"].find_one({"_id": entry}) or {}
        state: dict[str, Any] = doc["deliveries"][channel]
        return state if state["status"] in ("sent", "delivered", "failed") else None

    return await eventually(final, timeout=30, interval=0.05, what=f"a final {channel} status")


async def test_an_sms_is_retried_with_backoff_until_the_gateway_takes_it_and_the_delivery_is_published(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    member = facts.uid("p")
    prefs = MongoPreferenceStore(db)
    await prefs.set_contact(member, "sms", "13812345678")
    entry = await _entry(db, "sms", member)
    with fake_gateway((503, None), (503, None), (200, {"status": "delivered"})) as gateway:
        async with httpx.AsyncClient() as http:
            channel = SmsGatewayChannel(http, gateway.url, "secret-token")
            worker = DeliveryWorker(
                MongoDeliveryStore(db), prefs, {"sms": channel}, backoff_base=0.01, backoff_cap=0.05
            )
            state = await _run_until_final(worker, db, entry, "sms")
    assert (state["status"], state["attempts"]) == ("delivered", 3)
    assert [r.json()["to"] for r in gateway.received] == ["13812345678"] * 3
    assert gateway.received[0].headers["Authorization"] == "Bearer secret-token"
    pending = await MongoEmbeddedOutbox([db["feed"]]).fetch_pending(10)
    assert [(p.event.type, p.event.data["attempts"], p.event.data["channel"]) for p in pending] == [
        ("cn.civicgrid.notifications.notification.delivered.v1", 3, "sms")
    ]
    assert "13812345678" not in json.dumps(pending[0].event.model_dump(mode="json"))


async def test_a_delivery_that_keeps_failing_ends_failed_with_its_last_error_recorded_and_published(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    member = facts.uid("p")
    prefs = MongoPreferenceStore(db)
    await prefs.set_contact(member, "sms", "13812345678")
    entry = await _entry(db, "sms", member)
    with fake_gateway((503, None)) as gateway:
        async with httpx.AsyncClient() as http:
            worker = DeliveryWorker(
                MongoDeliveryStore(db),
                prefs,
                {"sms": SmsGatewayChannel(http, gateway.url, "t")},
                max_attempts=3,
                backoff_base=0.01,
                backoff_cap=0.05,
            )
            state = await _run_until_final(worker, db, entry, "sms")
    assert (state["status"], state["attempts"], state["last_error"]) == (
        "failed",
        3,
        "SMS gateway answered HTTP 503",
    )
    assert len(gateway.received) == 3
    pending = await MongoEmbeddedOutbox([db["feed"]]).fetch_pending(10)
    assert [(p.event.type, p.event.data["error"]) for p in pending] == [
        ("cn.civicgrid.notifications.notification.delivery_failed.v1", "SMS gateway answered HTTP 503")
    ]


async def test_a_wechat_refusal_fails_at_once_and_a_wechat_success_is_sent(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    refused_member, willing_member = facts.uid("r"), facts.uid("w")
    prefs = MongoPreferenceStore(db)
    await prefs.set_contact(refused_member, "wechat", "oRefused0001")
    await prefs.set_contact(willing_member, "wechat", "oWilling0001")
    with fake_gateway(
        (200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"}), (200, {"errcode": 0})
    ) as gw:
        async with httpx.AsyncClient() as http:
            worker = DeliveryWorker(
                MongoDeliveryStore(db), prefs, {"wechat": WeChatChannel(http, gw.url, "tmpl-1")}
            )
            refused = await _run_until_final(worker, db, await _entry(db, "wechat", refused_member), "wechat")
            willing = await _run_until_final(worker, db, await _entry(db, "wechat", willing_member), "wechat")
    assert (refused["status"], refused["attempts"], refused["last_error"]) == (
        "failed",
        1,
        "WeChat errcode 43101",
    )
    assert willing["status"] == "sent"
    sent = gw.received[1].json()
    assert (gw.received[1].path, sent["touser"], sent["template_id"]) == (
        "/cgi-bin/message/subscribe/send",
        "oWilling0001",
        "tmpl-1",
    )
    assert sent["data"]["thing1"]["value"] == "新派单：求助·楼道照明"


async def test_a_critical_street_broadcast_is_pushed_to_the_phones_of_its_audience_despite_quiet_hours(
    notifications: RunningService, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    community, org_id = facts.new_community(), facts.uid("org")
    street, other = community[:9], f"{int(community[:9]) + 1:09d}001"
    sleeper, unreachable, outsider = facts.uid("s"), facts.uid("u"), facts.uid("o")
    await notifications.kafka.publish(
        facts.organisation(community, org_id),
        facts.appointed(community, sleeper, org_id),
        facts.appointed(community, unreachable, org_id),
        facts.organisation(other, org_id + "x"),
        facts.appointed(other, outsider, org_id + "x"),
    )
    for person in (sleeper, unreachable, outsider):
        await notifications.wait_for_feed(person, 1)
    wuhan = datetime.now(CHINA)
    quiet = {
        "start": (wuhan - timedelta(hours=1)).strftime("%H:%M"),
        "end": (wuhan + timedelta(hours=1)).strftime("%H:%M"),
    }
    keys = {}
    with fake_gateway((201, None)) as push_service:
        for person in (sleeper, outsider):
            keys[person] = ec.generate_private_key(ec.SECP256R1()), uuid.uuid4().bytes
            public = (
                keys[person][0]
                .public_key()
                .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            )
            subscription = {
                "endpoint": f"{push_service.url}/push/{person}",
                "keys": {"p256dh": b64(public), "auth": b64(keys[person][1])},
            }
            mine = notifications.auth(person)
            base = f"{notifications.base_url}/members/{person}"
            assert (
                await notifications.http.post(f"{base}/push-subscriptions", json=subscription, headers=mine)
            ).status_code == 201
        prefs = {"channels": ["web_push"], "categories": {"notice": {"enabled": False}}, "quiet_hours": quiet}
        put = await notifications.http.put(
            f"{notifications.base_url}/members/{sleeper}/preferences",
            json=prefs,
            headers=notifications.auth(sleeper),
        )
        assert put.status_code == 200
        sent = await notifications.http.post(
            f"{notifications.base_url}/broadcasts",
            json={
                "audience": f"street:{street}",
                "community_code": community,
                "priority": "critical",
                "title": "燃气泄漏紧急疏散",
                "body": "请立即离开3栋并远离明火。",
            },
            headers=notifications.auth(None, Role.COORDINATOR, street),
        )
        assert sent.status_code == 201
        await eventually(became_true(lambda: bool(push_service.received)), what="the emergency push")
        pushed = push_service.received[0]
    planned = mongo_client[notifications.settings.mongo_database]["broadcast_deliveries"]

    async def recorded() -> list[dict[str, Any]] | None:
        docs = await planned.find({"notification_id": sent.json()["id"]}).to_list()
        return docs if all(d["deliveries"]["web_push"]["status"] != "queued" for d in docs) else None

    reached = await eventually(recorded, what="the delivery outcome to be recorded")
    assert [(d["member_id"], d["deliveries"]["web_push"]["status"]) for d in reached] == [(sleeper, "sent")]
    assert [r.path for r in push_service.received] == [f"/push/{sleeper}"]
    key, secret = keys[sleeper]
    message = json.loads(
        http_ece.decrypt(pushed.body, private_key=key, auth_secret=secret, version="aes128gcm")
    )
    assert (message["title"], message["ids"]) == ("燃气泄漏紧急疏散", [sent.json()["id"]])
    assert pushed.headers["Urgency"] == "high"
