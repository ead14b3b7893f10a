"""Delivery per address (issue 10): each push subscription has its own retries, final failure and
410; preferences name only configured channels; a broadcast's delivery is readable by its sender."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.gateways import fake_gateway
from tests.integration.notifications.harness import RunningService, eventually, kafka_tail

pytestmark = pytest.mark.integration
DELIVERY_TOPIC = "civicgrid.notifications.delivery.v1"


def _subscription(endpoint: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {
        "endpoint": endpoint,
        "keys": {
            "p256dh": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            "auth": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
        },
    }


async def _subscribe(notifications: RunningService, person: str, endpoint: str) -> str:
    answer = await notifications.http.post(
        f"{notifications.base_url}/members/{person}/push-subscriptions",
        json=_subscription(endpoint),
        headers=notifications.auth(person),
    )
    assert answer.status_code == 201
    sub_id: str = answer.json()["id"]
    return sub_id


async def test_each_push_subscription_is_retried_failed_or_dropped_on_its_own(
    notifications: RunningService,
) -> None:
    """One phone, three browsers: one takes the push, one answers 500 every time, one is gone (410)."""
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    base, mine = f"{notifications.base_url}/members/{person}", notifications.auth(person)
    with fake_gateway(
        by_path={"/ok": [(201, None)], "/flaky": [(500, None)], "/gone": [(410, None)]}
    ) as push:
        ok = await _subscribe(notifications, person, f"{push.url}/ok/{person}")
        flaky = await _subscribe(notifications, person, f"{push.url}/flaky/{person}")
        gone = await _subscribe(notifications, person, f"{push.url}/gone/{person}")
        async with kafka_tail(notifications.settings.kafka_bootstrap_servers, DELIVERY_TOPIC) as published:
            await notifications.kafka.publish(
                facts.organisation(community, org_id), facts.appointed(community, person, org_id)
            )
            entry = (await notifications.wait_for_feed(person, 1))[0]

            async def settled() -> dict[str, Any] | None:
                answer = await notifications.http.get(f"{base}/feed/{entry['id']}/deliveries", headers=mine)
                found: dict[str, Any] = answer.json()["deliveries"].get("web_push") or {}
                return found if found.get("status") not in (None, "queued") else None

            web_push = await eventually(settled, what="every subscription's final outcome")
            events = await eventually(
                lambda: _events_for(published, entry["id"], 3), what="one delivery event per subscription"
            )
        received = push.paths()

    targets = web_push["targets"]
    assert web_push["status"] == "partial"
    assert (targets[ok]["status"], targets[ok]["attempts"]) == ("sent", 1)
    assert (targets[flaky]["status"], targets[flaky]["attempts"]) == ("failed", 3)
    assert targets[flaky]["last_error"] == "push service answered HTTP 500"
    assert (targets[gone]["status"], targets[gone]["attempts"]) == ("failed", 1)
    assert sorted(received) == sorted([f"/ok/{person}", f"/gone/{person}", *[f"/flaky/{person}"] * 3])
    listed = (await notifications.http.get(f"{base}/push-subscriptions", headers=mine)).json()["items"]
    assert sorted(s["id"] for s in listed) == sorted([ok, flaky])  # the 410 one was dropped
    assert sorted(
        (e.type.split(".")[-2], e.data["address_id"], e.data["attempts"]) for e in events
    ) == sorted([("delivered", ok, 1), ("delivery_failed", flaky, 3), ("delivery_failed", gone, 1)])


async def _events_for(published: list[Any], notification_id: str, count: int) -> list[Any] | None:
    found = [e for e in published if e.data.get("notification_id") == notification_id]
    return found if len(found) >= count else None


async def test_preferences_naming_a_channel_this_service_cannot_send_on_are_refused(
    notifications: RunningService,
) -> None:
    person = facts.uid("p")
    url, mine = f"{notifications.base_url}/members/{person}/preferences", notifications.auth(person)
    configured = (await notifications.http.get(f"{notifications.base_url}/delivery-channels")).json()
    assert configured == {"channels": ["web_push"]}

    sms = await notifications.http.put(url, json={"channels": ["sms"]}, headers=mine)
    assert sms.status_code == 422
    assert sms.json()["field"] == "channels"
    assert "sms is not configured" in sms.json()["message"]
    wechat = await notifications.http.put(
        url, json={"categories": {"request": {"channels": ["web_push", "wechat"]}}}, headers=mine
    )
    assert (wechat.status_code, wechat.json()["field"]) == (422, "categories.request.channels")
    assert (await notifications.http.get(url, headers=mine)).json()["channels"] == ["web_push"]
    fine = await notifications.http.put(url, json={"channels": ["web_push"]}, headers=mine)
    assert fine.status_code == 200


async def test_a_broadcasts_deliveries_are_counted_for_its_sender_and_each_member_reads_their_own(
    notifications: RunningService,
) -> None:
    community, org_id = facts.new_community(), facts.uid("org")
    reached, refused, offline = facts.uid("r"), facts.uid("x"), facts.uid("o")
    await notifications.kafka.publish(
        facts.organisation(community, org_id),
        *(facts.appointed(community, p, org_id) for p in (reached, refused, offline)),
    )
    for person in (reached, refused, offline):
        await notifications.wait_for_feed(person, 1)
    sender = notifications.auth("coord-" + community, Role.COORDINATOR, community)
    with fake_gateway(by_path={"/ok": [(201, None)], "/bad": [(400, None)]}) as push:
        await _subscribe(notifications, reached, f"{push.url}/ok/{reached}")
        await _subscribe(notifications, refused, f"{push.url}/bad/{refused}")
        sent = await notifications.http.post(
            f"{notifications.base_url}/broadcasts",
            json={
                "audience": f"community:{community}",
                "community_code": community,
                "priority": "high",
                "title": "停电通知",
                "body": "明日8时至10时停电。",
            },
            headers=sender,
        )
        broadcast = sent.json()["id"]
        status_url = f"{notifications.base_url}/broadcasts/{broadcast}/deliveries"

        async def counted() -> dict[str, Any] | None:
            found: dict[str, Any] = (await notifications.http.get(status_url, headers=sender)).json()
            done = not found["push_pending"] and "queued" not in found["channels"].get(
                "web_push", {"queued": 1}
            )
            return found if done else None

        status = await eventually(counted, what="the broadcast's deliveries to settle")
    assert (status["members"], status["channels"]) == (2, {"web_push": {"sent": 1, "failed": 1}})
    assert status["audience"] == f"community:{community}"

    elsewhere = notifications.auth("coord-other", Role.COORDINATOR, facts.new_community())
    assert (await notifications.http.get(status_url, headers=elsewhere)).status_code == 403
    assert (await notifications.http.get(status_url, headers=notifications.auth(reached))).status_code == 403
    missing = f"{notifications.base_url}/broadcasts/{facts.uid('none')}/deliveries"
    assert (await notifications.http.get(missing, headers=sender)).status_code == 404

    def own(person: str) -> Any:
        return notifications.http.get(
            f"{notifications.base_url}/members/{person}/feed/{broadcast}/deliveries",
            headers=notifications.auth(person),
        )

    mine = (await own(reached)).json()
    assert (mine["kind"], mine["deliveries"]["web_push"]["status"]) == ("broadcast", "sent")
    assert (await own(refused)).json()["deliveries"]["web_push"]["status"] == "failed"
    assert (await own(offline)).json() == {"id": broadcast, "kind": "broadcast", "deliveries": {}}
    outsider = facts.uid("z")
    other = await notifications.http.get(
        f"{notifications.base_url}/members/{outsider}/feed/{broadcast}/deliveries",
        headers=notifications.auth(outsider),
    )
    assert other.status_code == 404
