"""Sign-in by phone number and a one-time SMS code: the rules, as plain Python.

- A phone number is only ever kept as a keyed hash (HMAC-SHA256 with the service's phone key), and
  shown masked (``138****5678``); the clear number lives only in the request that carries it.
- A code is 6 random digits, valid for 5 minutes, good for one sign-in and at most 5 wrong tries;
  only its keyed hash (bound to the phone's hash) is stored.
- Asking for codes is rate-limited per phone (one a minute, five an hour) and per client address
  (thirty an hour): over a limit, the answer says how long to wait (HTTP 429, ``Retry-After``).
- A refresh token is 32 random bytes, stored hashed, used once: using it gives a new one (rotation);
  using a spent one again revokes its whole family (someone copied it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from civicgrid_runtime.errors import InvalidInput

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalise_phone(text: str) -> str:
    """A mainland mobile number as 11 digits; ``+86``/``0086`` and spaces or dashes are accepted.

    Raises ``InvalidInput`` without repeating the input (it may be someone's number)."""
    digits = re.sub(r"[\s\-()]", "", text or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidInput("phone must be a mainland mobile number: 11 digits starting 13-19", field="phone")
    return digits


def phone_hash(key: bytes, phone: str) -> str:
    """The keyed hash a phone number is found by (never the number itself)."""
    return hmac.new(key, b"phone\x1f" + normalise_phone(phone).encode(), hashlib.sha256).hexdigest()


def code_hash(key: bytes, phone_digest: str, code: str) -> str:
    """A code's keyed hash, bound to the phone it was sent to."""
    return hmac.new(key, f"code\x1f{phone_digest}\x1f{code}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """Refresh tokens are 256 random bits: a plain hash is enough to keep them out of the store."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_code(length: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class CodePolicy:
    length: int = 6
    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests per ``window`` for one key (fixed windows aligned to the epoch)."""

    name: str
    count: int
    window: timedelta

    def bucket(self, now: datetime) -> tuple[int, datetime]:
        """The window ``now`` falls in: its number and its end."""
        seconds = int(self.window.total_seconds())
        number = int(now.timestamp()) // seconds
        return number, datetime.fromtimestamp((number + 1) * seconds, tz=now.tzinfo)


PHONE_LIMITS = (Limit("phone_minute", 1, timedelta(minutes=1)), Limit("phone_hour", 5, timedelta(hours=1)))
CLIENT_LIMITS = (Limit("client_hour", 30, timedelta(hours=1)),)


def retry_after(limit: Limit, used: int, now: datetime) -> int | None:
    """Seconds to wait when ``used`` (counting this request) passes the limit, else None."""
    if used <= limit.count:
        return None
    _number, end = limit.bucket(now)
    return max(1, int((end - now).total_seconds() + 0.999))


class CheckOutcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    """Too many wrong tries: ask for a new code."""


@dataclass(frozen=True)
class Challenge:
    """The code sent to a phone (its hash), when it expires and how many tries were made."""

    phone_digest: str
    code_digest: str
    expires_at: datetime
    attempts: int
    person_id: str | None
    """None when the phone belongs to nobody known: no code was sent and none can match."""

    def check(self, key: bytes, code: str, now: datetime, policy: CodePolicy) -> CheckOutcome:
        """Judge one try (``attempts`` already counts it)."""
        if now >= self.expires_at:
            return CheckOutcome.EXPIRED
        if self.attempts > policy.max_attempts:
            return CheckOutcome.EXHAUSTED
        given = code_hash(key, self.phone_digest, code)
        if self.person_id is None or not hmac.compare_digest(given, self.code_digest):
            return CheckOutcome.EXHAUSTED if self.attempts >= policy.max_attempts else CheckOutcome.WRONG
        return CheckOutcome.OK


def valid_code_shape(code: str, policy: CodePolicy) -> bool:
    return len(code) == policy.length and code.isdigit()
