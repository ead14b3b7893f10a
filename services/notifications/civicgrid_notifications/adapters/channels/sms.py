"""SMS through an HTTP gateway (the operator's or an aggregator's): JSON in, a receipt out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from civicgrid_notifications.adapters.channels.http import post
from civicgrid_notifications.domain.delivery import PRIMARY, DeliveryStatus
from civicgrid_notifications.service_layer.delivery import DeliveryError, Outbound


class SmsGatewayChannel:
    """POST ``{to, text, reference}`` to ``<url>/messages``; ``{"status": "delivered"}`` confirms."""

    name = "sms"

    def __init__(
        self, client: httpx.AsyncClient, url: str, token: str, signature: str = "【社区通知】"
    ) -> None:
        self._client = client
        self._url = url.rstrip("/") + "/messages"
        self._token = token
        self._signature = signature

    def targets(self, addresses: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        """One address: the number set now (a number changed between retries gets the retry)."""
        return {PRIMARY: {"sms": addresses["sms"]}} if addresses.get("sms") else {}

    async def send(self, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
        phone = target.get("sms")
        if not phone:
            raise DeliveryError("the member has no SMS number", permanent=True)
        text = f"{self._signature}{outbound.title}：{outbound.body}"[:300]
        response = await post(
            self._client,
            "SMS gateway",
            self._url,
            json={"to": phone, "text": text, "reference": outbound.entry_ids[0]},
            headers={"Authorization": f"Bearer {self._token}"},
        )
        body = response.json() if response.content else {}
        return DeliveryStatus.DELIVERED if body.get("status") == "delivered" else DeliveryStatus.SENT
