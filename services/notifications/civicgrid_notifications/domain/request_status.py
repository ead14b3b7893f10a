"""A request's status as a member reads it in the app: the steps of its handling, labelled in Chinese."""

from __future__ import annotations

import re

STATUS_LABELS = {
    "received": "已受理",
    "dispatched": "已派单",
    "moved": "已转网格",
    "accepted": "办理中",
    "progressed": "办理中",
    "escalated": "已升级督办",
    "resolved": "已办结",
    "evaluated": "已评价",
    "reopened": "已重新办理",
    "closed": "已关闭",
}

STEP_EVENTS = {
    "cn.civicgrid.resources.request.received.v1": "received",
    "cn.civicgrid.resources.request.dispatched.v1": "dispatched",
    "cn.civicgrid.resources.request.moved.v1": "moved",
    "cn.civicgrid.resources.request.accepted.v1": "accepted",
    "cn.civicgrid.resources.request.progressed.v1": "progressed",
    "cn.civicgrid.resources.request.escalated.v1": "escalated",
    "cn.civicgrid.resources.request.resolved.v1": "resolved",
    "cn.civicgrid.resources.request.evaluated.v1": "evaluated",
    "cn.civicgrid.resources.request.reopened.v1": "reopened",
    "cn.civicgrid.resources.request.closed.v1": "closed",
}

_REQUEST_LINK = re.compile(r"/requests/([A-Za-z0-9][A-Za-z0-9._:-]{0,127})(?:/|$|\?)")


def request_id_of_link(link: str | None) -> str | None:
    """The request a notice's link names (``…/requests/<id>`` or ``…/requests/<id>/evaluation``)."""
    if not link:
        return None
    found = _REQUEST_LINK.search(link)
    return found.group(1) if found else None


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
