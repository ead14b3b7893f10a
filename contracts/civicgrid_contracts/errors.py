"""The errors of the contracts package: what a consumer catches and sends to the dead-letter topic."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_MAX_LISTED = 5


class InvalidEvent(ValueError):
    """A record or event that breaks the contract. ``reason`` says what is wrong, readably.

    Reasons never repeat the offending value of a personal-data field (a phone number, say), so they
    are safe to log and to put in dead-letter headers.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class UnknownEventType(InvalidEvent, KeyError):
    """An event type that the catalogue does not list. Both an ``InvalidEvent`` and a ``KeyError``."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.event_type,))


def summarise(error: ValidationError, where: str) -> str:
    """A one-line summary of a pydantic error: field paths and messages, never the input values."""
    parts: list[str] = []
    details = error.errors(include_url=False, include_context=False, include_input=False)
    for detail in details[:_MAX_LISTED]:
        path = ".".join(str(part) for part in (where, *detail["loc"]) if part != "")
        message = detail["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        parts.append(f"{path}: {message}" if path else message)
    if len(details) > _MAX_LISTED:
        parts.append(f"and {len(details) - _MAX_LISTED} more")
    return "; ".join(parts)
