"""Push endpoints: only https hosts of real push services, no private addresses, checked again at send."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from civicgrid_notifications.adapters.channels.webpush import WebPushChannel
from civicgrid_notifications.domain.push_endpoints import PushEndpointPolicy, subscription_id
from civicgrid_notifications.service_layer.delivery import DeliveryError, Outbound
from civicgrid_runtime.errors import RuleViolation

STRICT = PushEndpointPolicy()
DEV = PushEndpointPolicy(allow_local_receiver=True)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/dXNlcjE:APA91b",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://FCM.googleapis.com./fcm/send/x",
    ],
)
def test_https_endpoints_of_the_well_known_push_services_are_accepted(endpoint: str) -> None:
    assert STRICT.check(endpoint).endswith(("googleapis.com", "mozilla.com", "apple.com", "windows.com"))


@pytest.mark.parametrize(
    ("endpoint", "rule"),
    [
        ("http://fcm.googleapis.com/fcm/send/x", "push_endpoint_https"),
        ("ftp://fcm.googleapis.com/x", "push_endpoint_https"),
        ("https://10.0.0.5/push", "push_endpoint_private_address"),
        ("https://192.168.1.1/push", "push_endpoint_private_address"),
        ("https://169.254.169.254/latest/meta-data", "push_endpoint_private_address"),
        ("https://127.0.0.1/push", "push_endpoint_private_address"),
        ("https://[::1]/push", "push_endpoint_private_address"),
        ("https://[fe80::1]/push", "push_endpoint_private_address"),
        ("https://[::ffff:10.0.0.1]/push", "push_endpoint_private_address"),
        ("https://8.8.8.8/push", "push_endpoint_host"),
        ("https://evil.example/push", "push_endpoint_host"),
        ("https://fcm.googleapis.com.evil.example/push", "push_endpoint_host"),
        ("https://notfcm.googleapis.com.example/push", "push_endpoint_host"),
        ("https://xfcm.googleapis.com/push", "push_endpoint_host"),
        ("https://user:secret@fcm.googleapis.com/fcm/send/x", "push_endpoint_credentials"),
        ("https:///nohost", "push_endpoint_host"),
    ],
)
def test_other_endpoints_are_refused_naming_the_rule(endpoint: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        STRICT.check(endpoint)
    assert refused.value.rule == rule


def test_the_development_setting_allows_a_loopback_receiver_but_nothing_else_private() -> None:
    assert DEV.check("http://127.0.0.1:8089/push/a") == "127.0.0.1"
    assert DEV.check("http://localhost:8089/push/a") == "localhost"
    for endpoint in ("http://10.0.0.5/push", "http://fcm.googleapis.com/fcm/send/x"):
        with pytest.raises(RuleViolation):
            DEV.check(endpoint)
    assert DEV.address_allowed("127.0.0.1")
    assert not DEV.address_allowed("10.0.0.1")
    assert not STRICT.address_allowed("127.0.0.1")
    assert STRICT.address_allowed("142.250.72.10")


def test_a_subscription_id_is_stable_for_its_endpoint() -> None:
    a = subscription_id("https://fcm.googleapis.com/fcm/send/a")
    assert a == subscription_id("https://fcm.googleapis.com/fcm/send/a")
    assert a != subscription_id("https://fcm.googleapis.com/fcm/send/b")
    assert len(a) == 24


def _subscription(endpoint: str) -> Mapping[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"endpoint": endpoint, "keys": {"p256dh": b64, "auth": "c2VjcmV0LWF1dGgtMTIzNA"}}


OUTBOUND = Outbound(("n1",), "p1", "notice", "normal", "停水通知", "明日停水", None)


def _vapid() -> Vapid02:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Vapid02.from_pem(pem)


def _channel(
    requests: list[httpx.Request], addresses: list[str], policy: PushEndpointPolicy = STRICT
) -> tuple[WebPushChannel, httpx.AsyncClient]:
    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(201)

    async def resolve(host: str, port: int) -> list[str]:
        return addresses

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return WebPushChannel(client, _vapid(), "mailto:ops@example.org", policy=policy, resolve=resolve), client


async def test_a_push_service_host_that_resolves_to_a_private_address_is_refused_at_send_time() -> None:
    requests: list[httpx.Request] = []
    channel, client = _channel(requests, ["10.1.2.3"])
    async with client:
        with pytest.raises(DeliveryError) as refused:
            await channel.send(OUTBOUND, _subscription("https://fcm.googleapis.com/x"))
    assert refused.value.permanent
    assert "push_endpoint_private_address" in str(refused.value)
    assert requests == []


async def test_a_stored_endpoint_no_longer_allowed_is_refused_at_send_time() -> None:
    requests: list[httpx.Request] = []
    channel, client = _channel(requests, ["142.250.72.10"])
    async with client:
        with pytest.raises(DeliveryError) as refused:
            await channel.send(OUTBOUND, _subscription("http://127.0.0.1:9/push"))
    assert refused.value.permanent
    assert "push_endpoint_https" in str(refused.value)
    assert requests == []


async def test_a_push_goes_to_the_checked_address_with_the_hosts_name_for_tls_and_http() -> None:
    requests: list[httpx.Request] = []
    channel, client = _channel(requests, ["142.250.72.10", "2a00:1450:4001::200a"])
    async with client:
        await channel.send(OUTBOUND, _subscription("https://fcm.googleapis.com/fcm/send/abc?x=1"))
    [sent] = requests
    assert str(sent.url) == "https://142.250.72.10/fcm/send/abc?x=1"
    assert sent.headers["Host"] == "fcm.googleapis.com"
    assert sent.extensions["sni_hostname"] == "fcm.googleapis.com"
