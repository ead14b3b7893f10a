"""HTTP bodies in and out: validated at the edge (each error names the field and the rule), and every
answer described by a model so the OpenAPI document says what it contains."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    WithJsonSchema,
)

from civicgrid_contracts.values import (
    FREE_TEXT_MAX,
    PERSONAL_DATA_SCHEMA,
    SHORT_TEXT_MAX,
    CommunityCode,
    Identifier,
    redact_personal_data,
)
from civicgrid_notifications.domain.model import FeedState, Priority
from civicgrid_notifications.service_layer.ports import PushSubscriptionView

# Control characters (C0, DEL, C1), bidirectional overrides/isolates (the "Trojan source" ones) and lone
# surrogates (which no store can encode). Multi-line text keeps tab, line feed and carriage return.
_ONE_LINE_FORBIDDEN = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_MULTI_LINE_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[{_ONE_LINE_FORBIDDEN}\ud800-\udfff]")
_MULTI_LINE = re.compile(f"[{_MULTI_LINE_FORBIDDEN}\ud800-\udfff]")
ONE_LINE_PATTERN = f"^[^{_ONE_LINE_FORBIDDEN}]*$"
MULTI_LINE_PATTERN = f"^[^{_MULTI_LINE_FORBIDDEN}]*$"
_CONTROL_MESSAGE = "must not contain control characters, bidirectional overrides or lone surrogates"
_PERSONAL_DATA_MESSAGE = "must not contain a clear phone number or an ID-card number"
# In codes, a whole segment that is a phone or ID-card number (as in identifiers).
_SEGMENT_PERSONAL_DATA = re.compile(r"(^|[._:/-])(1[3-9][0-9]{9}|[0-9]{17}[0-9Xx])([._:/-]|$)")


def _one_line(value: str) -> str:
    if _ONE_LINE.search(value):
        raise ValueError(_CONTROL_MESSAGE + " (line breaks included)")
    return value


def _multi_line(value: str) -> str:
    if _MULTI_LINE.search(value):
        raise ValueError(_CONTROL_MESSAGE + " (tab and line breaks are allowed)")
    return value


def _raw_one_line(value: object) -> object:
    """Before a URL type normalises its input (it drops line breaks silently): refuse it whole."""
    return _one_line(value) if isinstance(value, str) else value


def _no_personal_data(value: str) -> str:
    if redact_personal_data(value) != value:
        raise ValueError(_PERSONAL_DATA_MESSAGE)
    return value


def _url_no_personal_data(value: HttpUrl) -> HttpUrl:
    _no_personal_data(str(value))
    return value


def _code_no_personal_data(value: str) -> str:
    if _SEGMENT_PERSONAL_DATA.search(value):
        raise ValueError("must not be or contain a phone number or an ID-card number")
    return value


Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX),
    AfterValidator(_one_line),
    AfterValidator(_no_personal_data),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": SHORT_TEXT_MAX,
            "pattern": ONE_LINE_PATTERN,
            **PERSONAL_DATA_SCHEMA,
        }
    ),
]
"""One line of 1-200 characters: no control characters, no clear phone or ID-card number."""

Body = Annotated[
    str,
    StringConstraints(max_length=FREE_TEXT_MAX),
    AfterValidator(_multi_line),
    AfterValidator(_no_personal_data),
    WithJsonSchema(
        {"type": "string", "maxLength": FREE_TEXT_MAX, "pattern": MULTI_LINE_PATTERN, **PERSONAL_DATA_SCHEMA}
    ),
]
"""Free text up to 8,000 characters (tab and line breaks allowed), no clear phone or ID-card number."""

Link = Annotated[HttpUrl, BeforeValidator(_raw_one_line), AfterValidator(_url_no_personal_data)]
Endpoint = Annotated[HttpUrl, BeforeValidator(_raw_one_line)]

ChannelName = Literal["web_push", "sms", "wechat"]
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN), AfterValidator(_no_personal_data)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
AudienceKey = Annotated[
    str,
    StringConstraints(pattern=r"^(person|post|organisation|grid|community|street):[A-Za-z0-9._:/-]{1,100}$"),
    AfterValidator(_code_no_personal_data),
]
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"


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
    audience: AudienceKey = Field(
        description="kind:code, e.g. street:420106002, community:420106002003, grid:420106002003001.",
    )
    community_code: CommunityCode = Field(
        description="The community the notice concerns (for a street: any of it)."
    )
    category: Category = "notice"
    priority: Priority = Priority.NORMAL
    title: Title
    body: Body
    link: Link | None = None


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

    endpoint: Endpoint = Field(
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


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details, ``application/problem+json``): ``type``, ``title``,
    ``status``, ``detail``, plus ``error`` (a stable code) and ``message`` (naming the field or rule),
    with details such as ``rule``, ``field``, ``problems``, ``allowed`` or ``differences``."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    error: str | None = None
    message: str | None = None


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {"schema": schema}},
    }


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("No valid bearer token"),
    403: _problem("Not the member concerned, or outside the caller's region"),
    404: _problem("Not in this member's feed, or no such broadcast"),
    409: _problem("Conflicts with the stored state (the message says how)"),
    413: _problem("The body is larger than the service accepts"),
    422: _problem("Invalid input: the message names the field or the rule"),
    503: _problem("A store or broker is unavailable; retry after Retry-After seconds"),
}


class MeOut(BaseModel):
    subject: str
    person_id: str | None
    roles: list[str]


class FeedItemOut(BaseModel):
    id: str
    kind: Literal["personal", "broadcast"]
    category: str
    priority: Priority
    title: str
    body: str
    link: str | None
    state: FeedState
    created_at: datetime
    seq: int = Field(description="The sequence number of the item's last change (SSE event ids).")
    community_code: str


class RequestStepOut(BaseModel):
    status: str
    label: str = Field(description="The status in Chinese, as shown.")
    at: datetime | None
    note: str | None = Field(default=None, description="The result, note, reason or tier of the step.")
    rating: int | None = None


class RequestStatusOut(BaseModel):
    request_id: str
    summary: str | None
    category: str | None
    kind: str | None
    urgency: str | None
    due_at: datetime | None
    status: str
    status_label: str
    steps: list[RequestStepOut]
    evaluation_requested: bool = Field(description="The notice asks the resident to evaluate the handling.")


class ItemViewOut(BaseModel):
    item: FeedItemOut
    request: RequestStatusOut | None = Field(
        description="The request the notice is about, from this service's read model (null if none)."
    )


class FeedPageOut(BaseModel):
    items: list[FeedItemOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next (older) page; null at the end.")
    unread: int
    seq: int = Field(
        description="Open the stream with this as Last-Event-ID: it replays every change after this "
        "page was read, so nothing falls between the page and the stream."
    )


class UnreadOut(BaseModel):
    unread: int


class ChangedOut(BaseModel):
    changed: int = Field(description="How many entries and broadcasts turned read.")


DeliveryStatusName = Literal["queued", "sent", "delivered", "failed", "partial"]


class TargetDeliveryOut(BaseModel):
    status: DeliveryStatusName
    attempts: int = 0
    last_error: str | None = None
    due: datetime | None = Field(default=None, description="When the next attempt is due (queued only).")


class ChannelDeliveryOut(BaseModel):
    status: DeliveryStatusName = Field(
        description="queued while any address is retried; delivered only if every address confirmed; "
        "failed if every address failed; partial if some failed and others got it."
    )
    attempts: int = 0
    last_error: str | None = None
    due: datetime | None = None
    targets: dict[str, TargetDeliveryOut] = Field(
        default_factory=dict,
        description="Per address: a push subscription id, or `primary` (the SMS number, the WeChat openid).",
    )


class DeliveriesOut(BaseModel):
    id: str
    kind: Literal["personal", "broadcast"]
    deliveries: dict[str, ChannelDeliveryOut] = Field(description="Per channel; empty if none was planned.")


class BroadcastDeliveriesOut(BaseModel):
    id: str
    audience: str
    community_code: str
    created_at: datetime
    push_pending: bool = Field(description="Still paging through the audience's phones.")
    members: int = Field(description="Members of the audience reached on a phone (deliveries planned).")
    channels: dict[str, dict[DeliveryStatusName, int]] = Field(
        description="Per channel: how many members' deliveries are in each status."
    )


class DeliveryChannelsOut(BaseModel):
    channels: list[ChannelName] = Field(description="Channels this service can send on.")


class VapidKeyOut(BaseModel):
    public_key: str = Field(description="applicationServerKey for PushManager.subscribe (base64url).")


class BroadcastOut(BaseModel):
    id: str
    created: bool = Field(description="False when a broadcast with this id and content existed already.")
