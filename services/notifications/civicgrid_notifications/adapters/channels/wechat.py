"""WeChat subscription messages (订阅消息) through an HTTP gateway speaking WeChat's message format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from civicgrid_notifications.adapters.channels.http import post
from civicgrid_notifications.domain.delivery import PRIMARY, DeliveryStatus
from civicgrid_notifications.service_layer.delivery import DeliveryError, Outbound

# errcodes where retrying cannot help: bad openid, template, or the user refused / used up the subscription.
PERMANENT_ERRCODES = frozenset({40003, 40037, 43101, 47003})


class WeChatChannel:
    name = "wechat"

    def __init__(
        self, client: httpx.AsyncClient, url: str, template_id: str, page: str = "pages/feed/index"
    ) -> None:
        self._client = client
        self._url = url.rstrip("/") + "/cgi-bin/message/subscribe/send"
        self._template_id = template_id
        self._page = page

    def targets(self, addresses: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        return {PRIMARY: {"wechat": addresses["wechat"]}} if addresses.get("wechat") else {}

    async def send(self, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
        openid = target.get("wechat")
        if not openid:
            raise DeliveryError("the member has no WeChat openid", permanent=True)
        message = {
            "touser": openid,
            "template_id": self._template_id,
            "page": self._page,
            "data": {
                "thing1": {"value": outbound.title[:20]},
                "thing2": {"value": outbound.body[:20]},
                "phrase3": {"value": outbound.category[:5]},
            },
        }
        response = await post(self._client, "WeChat gateway", self._url, json=message)
        body = response.json() if response.content else {}
        code = int(body.get("errcode", 0))
        if code == 0:
            return DeliveryStatus.SENT
        raise DeliveryError(f"WeChat errcode {code}", permanent=code in PERMANENT_ERRCODES)
