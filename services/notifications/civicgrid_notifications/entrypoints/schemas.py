"""HTTP request bodies: validated at the edge, each error names the field and the rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from civicgrid_contracts.values import CommunityCode, FreeText, Identifier, ShortText
from civicgrid_notifications.domain.model import FeedState, Priority
from civicgrid_notifications.service_layer.ports import PushSubscriptionView

ChannelName = Literal["web_push", "sms", "wechat"]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


def _default_channels() -> list[ChannelName]:
    return ["web_push"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateChange(Strict):
    state: Literal[FeedState.SEEN, FeedState.READ, FeedState.ARCHIVED]


class ReadAll(Strict):
    category: Category | None = None


class BroadcastIn(Strict):
    id: Identifier | None = Field(default=None, description="Give one to make a retry idempotent.")
    audience: str = Field(
        pattern=r"^(person|post|organisation|grid|community|street):[A-Za-z0-9._:/-]{1,100}$",
        description="kind:code, e.g. street:420106002, community:420106002003, grid:420106002003001.",
    )
    community_code: CommunityCode = Field(
        description="The community the notice concerns (for a street: any of it)."
    )
    category: Category = "notice"
    priority: Priority = Priority.NORMAL
    title: ShortText
    body: FreeText
    link: HttpUrl | None = None


class QuietHoursIn(Strict):
    start: ClockTime
    end: ClockTime


class CategoryPreferenceIn(Strict):
    enabled: bool = True
    channels: list[ChannelName] | None = None
    digest: bool = False


class PreferencesIn(Strict):
    channels: list[ChannelName] = Field(default_factory=_default_channels)
    categories: dict[Category, CategoryPreferenceIn] = Field(default_factory=dict)
    quiet_hours: QuietHoursIn | None = None
    digest_hour: int = Field(default=20, ge=0, le=23)


class PushKeys(Strict):
    p256dh: str = Field(min_length=80, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")
    auth: str = Field(min_length=16, max_length=30, pattern=r"^[A-Za-z0-9_-]+=*$")


class PushSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` of the browser."""

    model_config = ConfigDict(extra="ignore")  # browsers add expirationTime and more

    endpoint: HttpUrl = Field(
        description="https URL on a push service's host (FCM, Mozilla autopush, Apple, WNS); no "
        "credentials, no private, loopback or link-local address."
    )
    keys: PushKeys


class PushSubscriptionOut(BaseModel):
    id: str = Field(description="Use it to delete the subscription.")
    host: str = Field(description="The push service's host.")
    created_at: datetime | None

    @classmethod
    def of(cls, view: PushSubscriptionView) -> PushSubscriptionOut:
        return cls(id=view.id, host=view.host, created_at=view.created_at)


class PushSubscriptionList(BaseModel):
    items: list[PushSubscriptionOut]


class ContactsIn(Strict):
    sms: Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]{9}$")] | None = Field(
        default=None,
        description="Mainland mobile number (11 digits); kept only here, never in events or logs.",
    )
    wechat: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{6,64}$")] | None = Field(
        default=None, description="The member's openid for subscription messages."
    )


__all__ = ["FreeText", "ShortText"]
