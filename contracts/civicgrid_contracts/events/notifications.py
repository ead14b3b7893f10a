"""notifications events: the outcome of delivering a notification to a member."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from civicgrid_contracts.events.base import EventPayload
from civicgrid_contracts.values import FreeText, Identifier

Channel = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class NotificationDelivered(EventPayload):
    """A notification reached a member on a channel."""

    event_type = "cn.civicgrid.notifications.notification.delivered.v1"

    notification_id: Identifier
    member_id: Identifier
    channel: Channel = Field(description="e.g. in_app, web_push, sms.")
    attempts: int = Field(ge=1)
    address_id: Identifier | None = Field(
        default=None,
        description="Which of the member's addresses on the channel: the push subscription's id when a "
        "member has several browsers; absent for channels with one address (SMS number, WeChat openid). "
        "Each address has its own delivery and its own event.",
    )


class NotificationDeliveryFailed(EventPayload):
    """Delivering a notification to a member failed for good on a channel."""

    event_type = "cn.civicgrid.notifications.notification.delivery_failed.v1"

    notification_id: Identifier
    member_id: Identifier
    channel: Channel = Field(description="e.g. in_app, web_push, sms.")
    attempts: int = Field(ge=1)
    address_id: Identifier | None = Field(
        default=None,
        description="Which of the member's addresses on the channel: the push subscription's id when a "
        "member has several browsers; absent for channels with one address (SMS number, WeChat openid). "
        "Each address has its own delivery and its own event.",
    )
    error: FreeText
