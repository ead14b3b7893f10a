"""Rules as data: which event type notifies whom, with which message (Chinese by default)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from civicgrid_notifications.domain.model import Message, Priority
from civicgrid_notifications.domain.templates import render


class RecipientKind(StrEnum):
    """How a rule finds its recipients in the service's own projections."""

    MEMBERSHIP_PERSON = "membership_person"
    """The person of the membership in the event (appointed, or whose term ended)."""
    GRID_TEAM = "grid_team"
    """Everyone serving the event's grid: resources who joined it, members of its teams, its post holders."""
    TEAM_MEMBERS = "team_members"
    REQUEST_ASSIGNEES = "request_assignees"
    COMMUNITY_COORDINATORS = "community_coordinators"
    REQUEST_RESIDENT = "request_resident"
    RESOURCE_PERSON = "resource_person"
    EVENT_PARTICIPANTS = "event_participants"
    """The persons the event itself names as participants (a meeting's invitees)."""
    COMPOUND_OWNERS = "compound_owners"
    """The owners of the households of the event's compound (those who may vote there): the owners the
    event names (a vote's roll), else those of notifications' own household projection."""


@dataclass(frozen=True)
class Rule:
    name: str
    event_type: str
    recipients: RecipientKind
    category: str
    priority: Priority
    title: str
    body: str
    link: str | None = None

    def message(self, values: Mapping[str, Any]) -> Message:
        return Message(
            category=self.category,
            priority=self.priority,
            title=render(self.title, values),
            body=render(self.body, values),
            link=render(self.link, values) if self.link else None,
        )


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    coordinator_posts: frozenset[str]
    """Posts whose holders at a community's organisations are its coordinators."""
    labels: Mapping[str, Mapping[str, str]]
    """Display labels for enum values (posts, tiers, urgencies...), by vocabulary."""

    def for_event(self, event_type: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.event_type == event_type)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(r.event_type for r in self.rules)

    def label(self, vocabulary: str, value: str | None) -> str:
        if value is None:
            return "—"
        return self.labels.get(vocabulary, {}).get(value, value)


def parse_rulebook(data: Mapping[str, Any]) -> RuleBook:
    rules = tuple(
        Rule(
            name=str(r["name"]),
            event_type=str(r["event_type"]),
            recipients=RecipientKind(r["recipients"]),
            category=str(r["category"]),
            priority=Priority(r.get("priority", "normal")),
            title=str(r["title"]),
            body=str(r["body"]),
            link=r.get("link"),
        )
        for r in data["rules"]
    )
    names = [r.name for r in rules]
    if len(names) != len(set(names)):
        raise ValueError("rule names must be unique (they are part of the feed entry's idempotency key)")
    return RuleBook(
        rules=rules,
        coordinator_posts=frozenset(data.get("coordinator_posts", [])),
        labels={k: dict(v) for k, v in data.get("labels", {}).items()},
    )


def load_default_rulebook() -> RuleBook:
    text = resources.files("civicgrid_notifications.domain").joinpath("rules.json").read_text("utf-8")
    return parse_rulebook(json.loads(text))
