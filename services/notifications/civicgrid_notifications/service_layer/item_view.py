"""Use case: one item of a member's feed as the app shows it, with the status of the request it is about.

The status comes from this service's own projection of resources facts (the read model), never from
the resources API: the member sees it without a resources token, and only for a request one of their
own notices is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from civicgrid_notifications.domain.request_status import request_id_of_link, status_label
from civicgrid_notifications.service_layer.feed import FeedService
from civicgrid_runtime.auth.principal import Principal
from civicgrid_runtime.errors import NotFound


class RequestStatuses(Protocol):
    async def request_status(self, request_id: str) -> dict[str, Any] | None: ...


@dataclass
class ItemViewer:
    feeds: FeedService
    requests: RequestStatuses

    async def view(self, principal: Principal, member_id: str, item_id: str) -> dict[str, Any]:
        self.feeds.authorise(principal, member_id)
        audiences = await self.feeds.audiences(member_id)
        item = await self.feeds.feed.item(member_id, audiences, item_id)
        if item is None:
            raise NotFound(f"no notification {item_id} in this member's feed")
        request = None
        request_id = request_id_of_link(item.link)
        if request_id is not None:
            found = await self.requests.request_status(request_id)
            if found is not None:
                request = {
                    **found,
                    "status_label": status_label(found["status"]),
                    "steps": [{**s, "label": status_label(s["status"])} for s in found["steps"]],
                    "evaluation_requested": bool(item.link and item.link.rstrip("/").endswith("/evaluation")),
                }
        return {"item": item.to_json(), "request": request}
