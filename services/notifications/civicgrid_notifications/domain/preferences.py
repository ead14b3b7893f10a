"""Members' choices: channels per category, quiet hours; critical notices ignore both."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from civicgrid_notifications.domain.model import Priority
from civicgrid_runtime.errors import InvalidInput

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        try:
            return cls(time.fromisoformat(start), time.fromisoformat(end))
        except ValueError:
            raise InvalidInput("quiet hours must be HH:MM times, e.g. 22:00 and 07:00") from None

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime) -> datetime:
        """The first instant at or after ``now`` outside the quiet hours (``now`` if outside)."""
        local = now.astimezone(CHINA)
        if not self.contains(local.time()):
            return now
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)


@dataclass(frozen=True)
class CategoryPreference:
    enabled: bool = True
    channels: tuple[str, ...] | None = None
    """None: the member's default channels."""
    digest: bool = False
    """Low-priority entries of this category wait for the daily digest instead of a push each."""


@dataclass(frozen=True)
class Preferences:
    channels: tuple[str, ...] = ("web_push",)
    categories: dict[str, CategoryPreference] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    digest_hour: int = 20


@dataclass(frozen=True)
class DeliveryPlan:
    channel: str
    not_before: datetime
    digest: bool = False


def plan_deliveries(
    prefs: Preferences,
    category: str,
    priority: Priority,
    available: frozenset[str],
    now: datetime,
    critical_channels: tuple[str, ...] = ("web_push", "sms", "wechat"),
) -> list[DeliveryPlan]:
    """Which phone channels get this entry and when. The feed itself always gets it."""
    if priority is Priority.CRITICAL:
        return [DeliveryPlan(c, now) for c in critical_channels if c in available]
    pref = prefs.categories.get(category, CategoryPreference())
    if not pref.enabled:
        return []
    channels = [c for c in (pref.channels or prefs.channels) if c in available]
    if pref.digest and priority is Priority.LOW:
        return [DeliveryPlan(c, next_digest(now, prefs.digest_hour), digest=True) for c in channels[:1]]
    at = prefs.quiet_hours.ends_after(now) if prefs.quiet_hours else now
    return [DeliveryPlan(c, at) for c in channels]


def next_digest(now: datetime, hour: int) -> datetime:
    local = now.astimezone(CHINA)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(now.tzinfo)
