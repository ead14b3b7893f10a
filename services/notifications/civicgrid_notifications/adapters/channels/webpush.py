"""Web Push (RFC 8030) with VAPID (RFC 8292) and message encryption (RFC 8291, aes128gcm).

Each subscription (``endpoint`` + the browser's ``p256dh`` public key and ``auth`` secret) gets the
payload encrypted with a fresh ECDH key; only that browser can read it. A 404/410 from the push
service means the subscription is gone: it is removed, and the delivery to it fails for good. Each
subscription is a target of its own (status, retries, final outcome), so one failing browser neither
blocks nor hides the others.

Every send checks the endpoint against the push-endpoint policy again (the allow-list may have changed
since the subscription was stored), resolves its host, refuses it if any address is not public (DNS
rebinding), and connects to the address it checked (the TLS name is still the host's).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from civicgrid_notifications.domain.delivery import DeliveryStatus
from civicgrid_notifications.domain.push_endpoints import PushEndpointPolicy, ip_literal
from civicgrid_notifications.service_layer.delivery import DeliveryError, Outbound
from civicgrid_runtime.errors import RuleViolation

URGENCY = {"low": "low", "normal": "normal", "high": "high", "critical": "high"}
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 first)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return sorted(addresses, key=lambda a: ":" in a)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def load_or_create_vapid_key(path: Path) -> Vapid02:
    """The server's VAPID key (P-256, PEM). Created on first use outside production."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return Vapid02.from_pem(path.read_bytes())


def vapid_public_key(vapid: Vapid02) -> str:
    """The applicationServerKey a browser subscribes with (base64url, uncompressed point)."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(raw)


def encrypt(payload: bytes, p256dh: str, auth: str) -> bytes:
    """RFC 8291: aes128gcm content coding with a fresh sender key (its public key is the keyid)."""
    sender = ec.generate_private_key(ec.SECP256R1())
    result: bytes = http_ece.encrypt(
        payload,
        private_key=sender,
        dh=b64url_decode(p256dh),
        auth_secret=b64url_decode(auth),
        version="aes128gcm",
    )
    return result


class WebPushChannel:
    name = "web_push"

    def __init__(
        self,
        client: httpx.AsyncClient,
        vapid: Vapid02,
        subject: str,
        ttl_seconds: int = 86_400,
        on_gone: Callable[[str, str], Awaitable[None]] | None = None,
        policy: PushEndpointPolicy | None = None,
        resolve: Resolver = resolve_host,
    ) -> None:
        self._client = client
        self._vapid = vapid
        self._subject = subject
        self._ttl = ttl_seconds
        self._on_gone = on_gone
        self._policy = policy or PushEndpointPolicy()
        self._resolve = resolve

    def _authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
            "sub": self._subject,
        }
        return str(self._vapid.sign(claims)["Authorization"])

    def targets(self, addresses: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        """Every push subscription (browser) of the member, by subscription id."""
        return dict(addresses.get("web_push") or {})

    async def send(self, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
        payload = json.dumps(
            {
                "title": outbound.title,
                "body": outbound.body,
                "link": outbound.link,
                "ids": list(outbound.entry_ids),
                "category": outbound.category,
            },
            ensure_ascii=False,
        ).encode()
        await self._send_one(outbound, target, payload)
        return DeliveryStatus.SENT

    async def _send_one(self, outbound: Outbound, sub: Mapping[str, Any], payload: bytes) -> None:
        endpoint = str(sub["endpoint"])
        keys = sub.get("keys") or {}
        body = encrypt(payload, str(keys["p256dh"]), str(keys["auth"]))
        headers = {
            "TTL": str(self._ttl),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": URGENCY.get(outbound.priority, "normal"),
            "Authorization": self._authorization(endpoint),
        }
        url, extensions = await self._pinned(endpoint, headers)
        try:
            response = await self._client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as error:
            raise DeliveryError(f"push service unreachable: {type(error).__name__}") from None
        if response.status_code in (404, 410):
            if self._on_gone is not None:
                await self._on_gone(outbound.member_id, endpoint)
            raise DeliveryError(f"push subscription gone (HTTP {response.status_code})", permanent=True)
        if response.status_code >= 300:
            transient = response.status_code >= 500 or response.status_code == 429
            raise DeliveryError(f"push service answered HTTP {response.status_code}", permanent=not transient)

    async def _pinned(self, endpoint: str, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
        """The URL to connect to: the endpoint with its host replaced by a checked address.

        Raises a permanent ``DeliveryError`` naming the rule when the endpoint is not allowed (any
        more) or its host resolves to an address that is not public.
        """
        try:
            host = self._policy.check(endpoint)
        except RuleViolation as refused:
            raise DeliveryError(f"push endpoint refused ({refused.rule})", permanent=True) from None
        if ip_literal(host) is not None:
            return endpoint, {}  # an address already checked by the policy (a local receiver in tests)
        parts = urlsplit(endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await self._resolve(host, port)
        except OSError:
            raise DeliveryError("push service host could not be resolved") from None
        if not addresses:
            raise DeliveryError("push service host could not be resolved")
        if not all(self._policy.address_allowed(a) for a in addresses):
            raise DeliveryError(
                "push endpoint refused (push_endpoint_private_address): its host resolves to a "
                "private, loopback, link-local or reserved address",
                permanent=True,
            )
        address = addresses[0]
        netloc = f"[{address}]" if ":" in address else address
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        headers["Host"] = host if parts.port is None else f"{host}:{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return pinned, ({"sni_hostname": host} if parts.scheme == "https" else {})
