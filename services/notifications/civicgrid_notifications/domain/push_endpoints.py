"""Which Web Push endpoints this service will POST to (no SSRF through a member's subscription).

A push subscription's endpoint is a URL chosen by whoever calls the API, and the delivery worker
POSTs to it from inside the network. So an endpoint must be ``https`` on a host of a real push
service (an allow-list of host suffixes), never carry credentials, and never name a private,
loopback or link-local address. At send time the host is resolved again and every address it
resolves to must be public (DNS rebinding). A development setting allows a local receiver on a
loopback address (``http://127.0.0.1:<port>``) for tests; it is refused in production settings.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from civicgrid_runtime.errors import RuleViolation

DEFAULT_PUSH_HOST_SUFFIXES = (
    "fcm.googleapis.com",  # Chrome, Edge on Android, Opera, Samsung Internet (Firebase Cloud Messaging)
    "android.googleapis.com",  # older Chrome subscriptions (GCM endpoints, still served by FCM)
    "push.services.mozilla.com",  # Firefox (Mozilla autopush)
    "push.apple.com",  # Safari (web.push.apple.com)
    "notify.windows.com",  # Edge on Windows (WNS, e.g. wns2-par02p.notify.windows.com)
)
"""Host suffixes of the well-known Web Push services; a host matches a suffix or is a subdomain of it."""

MAX_PUSH_SUBSCRIPTIONS = 10
"""Devices (browsers) one member may register; bounds the fan-out of one notice."""

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class PushEndpointPolicy:
    allowed_host_suffixes: tuple[str, ...] = DEFAULT_PUSH_HOST_SUFFIXES
    allow_local_receiver: bool = False
    """Development only: accept endpoints on a loopback address (a local receiver in tests)."""

    def check(self, endpoint: str) -> str:
        """The endpoint's host if the endpoint may be used; a ``RuleViolation`` naming the rule if not."""
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise RuleViolation("push_endpoint_host", "push endpoint must be an absolute URL with a host")
        if parts.username is not None or parts.password is not None:
            raise RuleViolation(
                "push_endpoint_credentials", "push endpoint must not carry a user or password"
            )
        if self.allow_local_receiver and is_local_receiver(host):
            if parts.scheme not in ("http", "https"):
                raise RuleViolation("push_endpoint_https", "push endpoint must be an http(s) URL")
            return host
        if parts.scheme != "https":
            raise RuleViolation("push_endpoint_https", "push endpoint must use https")
        address = ip_literal(host)
        if address is not None:
            if not address.is_global:
                raise RuleViolation(
                    "push_endpoint_private_address",
                    "push endpoint must not be a private, loopback, link-local or reserved address",
                )
            raise RuleViolation(
                "push_endpoint_host", "push endpoint must name a push service's host, not an IP address"
            )
        if not any(_matches(host, suffix) for suffix in self.allowed_host_suffixes):
            raise RuleViolation(
                "push_endpoint_host",
                f"push endpoint host {host} is not a known push service "
                f"(allowed: {', '.join(self.allowed_host_suffixes)} and their subdomains)",
            )
        return host

    def address_allowed(self, address: str) -> bool:
        """Whether a resolved address of an endpoint's host may be connected to (checked at send time)."""
        ip = ip_literal(address)
        if ip is None:
            return False
        if ip.is_global:
            return True
        return self.allow_local_receiver and ip.is_loopback


def _matches(host: str, suffix: str) -> bool:
    suffix = suffix.strip(".").lower()
    return bool(suffix) and (host == suffix or host.endswith("." + suffix))


def ip_literal(host: str) -> IpAddress | None:
    text = host.strip("[]")
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_local_receiver(host: str) -> bool:
    if host == "localhost":
        return True
    address = ip_literal(host)
    return address is not None and address.is_loopback


def subscription_id(endpoint: str) -> str:
    """A subscription's id: derived from its endpoint (the same browser registering again keeps it)."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:24]
