"""Demo data for notifications, through the service's own HTTP API (stdlib only). Idempotent: the
broadcasts carry fixed ids (a repeat answers 200 "created": false) and preferences are replaced whole.

    seed("http://127.0.0.1:8003", admin_token)        # an admin token (it sets a member's preferences)

Members' personal notifications are not seeded here: they follow from the org-graph and resources
demo data (appointments, teams, dispatched requests) through Kafka. ``phone_page_url`` gives the link
a reader opens on a phone (or a desktop browser) to watch a member's feed live.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

COMMUNITY = "420106002003"
STREET = "420106002"
DEMO_MEMBER = "demo-p-head-1-1"
"""A building head of the org-graph demo (楼栋长1-1): appointed at seed time, so the feed is not empty;
owner of 紫阳苑 1栋1单元101 (``demo_orggraph.OWNERS_WITH_POSTS``), so they vote in 紫阳苑's open vote."""
DEMO_PHONE = "13900001111"
"""The demo member's SMS contact (a demo number): sign in at /app/ with it; in development the code is
printed in notifications' output (``sign-in code for 139****1111: ......``)."""

BROADCASTS = (
    {
        "id": "demo-welcome-420106002003",
        "audience": f"community:{COMMUNITY}",
        "community_code": COMMUNITY,
        "category": "notice",
        "priority": "normal",
        "title": "欢迎使用社区通知",
        "body": "社区的任职、派单、督办和紧急通知会在这里实时显示。",
    },
    {
        "id": "demo-street-flood-drill-420106002",
        "audience": f"street:{STREET}",
        "community_code": COMMUNITY,
        "category": "notice",
        "priority": "low",
        "title": "街道防汛演练通知",
        "body": "本周六上午9点在社区广场举行防汛演练，请各网格员提前到场。",
    },
)

QUIET_HOURS = {"channels": ["web_push"], "categories": {}, "quiet_hours": {"start": "22:00", "end": "07:00"}}


class SeedError(RuntimeError):
    pass


def _call(base_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise SeedError(f"{method} {path}: HTTP {error.code}: {error.read()[:300]!r}") from None


def seed(base_url: str, token: str) -> None:
    """Two broadcasts (community welcome, street drill), quiet hours and the SMS contact (sign-in by
    code) of the demo member."""
    for broadcast in BROADCASTS:
        _call(base_url, token, "POST", "/broadcasts", broadcast)
    _call(base_url, token, "PUT", f"/members/{DEMO_MEMBER}/preferences", QUIET_HOURS)
    _call(base_url, token, "PUT", f"/members/{DEMO_MEMBER}/contacts", {"sms": DEMO_PHONE})


def phone_page_url(base_url: str, member_token: str) -> str:
    """The phone page signed in as a member (the token travels in the fragment, never to a server log)."""
    return f"{base_url.rstrip('/')}/app/#token={member_token}"
