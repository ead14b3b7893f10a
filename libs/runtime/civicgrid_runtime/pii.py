"""Personal data: ID-card numbers are only ever kept as salted hashes; phones are masked."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from civicgrid_contracts.values import redact_personal_data


def hash_id_number(id_number: str, salt: str) -> str:
    """A keyed hash of an ID-card number, for de-duplication without keeping it in clear."""
    normalised = id_number.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", normalised):
        raise ValueError("an ID-card number has 17 digits and a final digit or X")
    return hmac.new(salt.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def redact_text(text: str) -> str:
    """Mask phone numbers and remove ID-card numbers found anywhere in a string (the contracts' rule)."""
    return redact_personal_data(text)


def redact(value: Any) -> Any:
    """Redact strings inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value
