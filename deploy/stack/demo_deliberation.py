"""Demo data for deliberation, seeded through its own HTTP API after org-graph's demo (whose households and
posts deliberation projects from Kafka). Idempotent: every write carries an Idempotency-Key.

    seed("http://127.0.0.1:8004", admin_token)

紫阳苑 (compound 1 of the demo community) adopted the silent-majority rule; its owners vote on using the
maintenance fund for the roof (the notifications demo member, 楼栋长1-1, owns 1栋1单元101 there and votes
on the phone: 议事); a property salon on the roof invites them; the community and the compound have items
on their public pages (``/public/disclosures/420106002003/page``, with a QR code). Stdlib only (urllib).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

COMMUNITY = "420106002003"
COMPOUND = f"{COMMUNITY}-C01"
DEMO_MEMBER = "demo-p-head-1-1"
"""The notifications demo member (``demo_notifications.DEMO_MEMBER``), an owner in 紫阳苑."""


class SeedError(RuntimeError):
    pass


def _call(base_url: str, token: str, method: str, path: str, body: Any, key: str | None = None) -> Any:
    request = urllib.request.Request(
        base_url.rstrip("/") + path, data=json.dumps(body).encode(), method=method
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise SeedError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None


def seed(base_url: str, token: str, roll_wait_seconds: float = 180.0) -> None:
    _call(base_url, token, "PUT", f"/compounds/{COMPOUND}/rules", {"silent_majority": True})
    _call(
        base_url,
        token,
        "POST",
        "/disclosures",
        {
            "place_code": COMMUNITY,
            "kind": "finance",
            "title": "2026年社区公益金收支",
            "body": "社区公益金用于楼道照明与适老化改造。",
            "figures": [
                {"label": "收入", "amount": "86000.00", "unit": "CNY"},
                {"label": "支出", "amount": "61250.40", "unit": "CNY"},
            ],
        },
        "demo-disclosure-finance-2026",
    )
    _call(
        base_url,
        token,
        "POST",
        "/disclosures",
        {
            "place_code": COMPOUND,
            "kind": "project_progress",
            "title": "紫阳苑充电桩安装进度",
            "body": "三方联席会议定安装20个充电桩，已完成12个。",
            "figures": [{"label": "完成", "amount": "12", "unit": "个"}],
        },
        "demo-disclosure-chargers",
    )
    vote = {
        "compound_code": COMPOUND,
        "title": "使用维修资金修缮屋面防水",
        "matter": "use_maintenance_fund",
        "closes_at": "2099-12-31T16:00:00Z",
    }
    _call(
        base_url,
        token,
        "POST",
        "/meetings",
        {
            "level": "compound",
            "place_code": COMPOUND,
            "meeting_type": "property_salon",
            "title": "屋面防水维修方案说明会",
            "scheduled_for": "2027-01-09T19:00:00+08:00",
            "agenda": [{"title": "维修方案、费用与维修资金使用"}],
            "guest_person_ids": [DEMO_MEMBER],
        },
        "demo-meeting-roof-salon",
    )
    # The roll comes from the household projection: wait until org-graph's households have arrived.
    deadline = time.monotonic() + roll_wait_seconds
    while True:
        try:
            _call(base_url, token, "POST", "/votes", vote, "demo-vote-roof")
            return
        except SeedError as error:
            if "vote_needs_roll" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(2)
