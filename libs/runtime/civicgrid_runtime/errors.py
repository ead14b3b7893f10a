"""Errors shared by every service's domain and use cases; the HTTP layer maps them to status codes.

Plain Python: domain packages may import this module.
"""

from __future__ import annotations

from collections.abc import Sequence


class CivicGridError(Exception):
    """Base of every expected, user-facing failure."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, object]:
        return {"error": self.code, "message": self.message, **self.details}


class InvalidInput(CivicGridError):
    status_code = 422
    code = "invalid_input"


class NotFound(CivicGridError):
    status_code = 404
    code = "not_found"


class Conflict(CivicGridError):
    status_code = 409
    code = "conflict"


class RuleViolation(CivicGridError):
    """A domain rule was broken; ``rule`` names it so a coordinator can look it up."""

    status_code = 422
    code = "rule_violation"

    def __init__(self, rule: str, message: str, **details: object) -> None:
        super().__init__(message, rule=rule, **details)
        self.rule = rule


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, current: str, requested: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"cannot go from {current!r} to {requested!r}; allowed: {', '.join(allowed) or 'none'}",
            current=current,
            requested=requested,
            allowed=list(allowed),
        )


class PermissionDenied(CivicGridError):
    status_code = 403
    code = "forbidden"


class PermanentFailure(Exception):
    """Raised by a consumer handler when retrying cannot help: the message goes to the dead-letter topic."""


class StoreUnavailable(Exception):
    """A store (or broker) cannot be reached right now: retrying later can help.

    Raise it (or let a driver's connection error escape) when a dependency is down. The HTTP layer
    answers 503 with ``Retry-After``; consumers hold their partition and retry instead of
    dead-lettering. See :func:`civicgrid_runtime.faults.is_transient`.
    """

    def __init__(self, message: str = "a store is unavailable", *, retry_after_seconds: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds
