"""Value types shared by the payloads: codes, identifiers, text and masked phone numbers.

Each type validates in pydantic and publishes the same rule in its JSON Schema, so an integrator
validating with the schema files accepts and rejects the same values as the models do.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints, WithJsonSchema

# Personal data that must never travel in clear. JSON-Schema-portable (no look-behind).
_CLEAR_MOBILE = r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)"
_ID_CARD = r"(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)"
PERSONAL_DATA_SCHEMA: dict[str, Any] = {"not": {"anyOf": [{"pattern": _CLEAR_MOBILE}, {"pattern": _ID_CARD}]}}
_PERSONAL_DATA_MESSAGE = (
    "must not contain a clear phone number or an ID-card number (mask phones with mask_phone, "
    "remove ID-card numbers; see redact_personal_data)"
)

# In identifiers, only a whole segment (between . _ : -) counts: a random id such as
# "p-d0d6a17840194694" merely contains phone-like digits, while "p-13812345678" is a phone number.
_ID_SEGMENT_MOBILE = r"(^|[._:-])1[3-9][0-9]{9}([._:-]|$)"
_ID_SEGMENT_ID_CARD = r"(^|[._:-])[0-9]{17}[0-9Xx]([._:-]|$)"
IDENTIFIER_PERSONAL_DATA_SCHEMA: dict[str, Any] = {
    "not": {"anyOf": [{"pattern": _ID_SEGMENT_MOBILE}, {"pattern": _ID_SEGMENT_ID_CARD}]}
}

COMMUNITY_CODE_PATTERN = r"^[0-9]{12}$"
GRID_ID_PATTERN = r"^[0-9]{15}$"
MASKED_PHONE_PATTERN = r"^[0-9]{0,3}\*{4,8}[0-9]{4}$"
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def _contains_personal_data(text: str) -> bool:
    return re.search(_CLEAR_MOBILE, text) is not None or re.search(_ID_CARD, text) is not None


def _community_code(value: str) -> str:
    if re.fullmatch(COMMUNITY_CODE_PATTERN, value) is None:
        raise ValueError("community code must be exactly 12 digits (the statistical division code)")
    return value


def _grid_id(value: str) -> str:
    if re.fullmatch(GRID_ID_PATTERN, value) is None:
        raise ValueError("grid id must be exactly 15 digits: the 12-digit community code and 3 digits")
    return value


def _identifier(value: str) -> str:
    if re.fullmatch(IDENTIFIER_PATTERN, value) is None:
        raise ValueError(
            "identifier must be 1-64 letters, digits or . _ : - (starting with a letter or digit)"
        )
    if re.search(_ID_SEGMENT_MOBILE, value) or re.search(_ID_SEGMENT_ID_CARD, value):
        raise ValueError("identifier must not be a phone number or an ID-card number")
    return value


def _no_personal_data(value: str) -> str:
    if _contains_personal_data(value):
        raise ValueError(f"text {_PERSONAL_DATA_MESSAGE}")
    return value


def _masked_phone(value: str) -> str:
    if re.fullmatch(MASKED_PHONE_PATTERN, value) is not None:
        return value
    if "*" not in value:
        raise ValueError(
            "phone numbers must be masked (like 138****5678; use mask_phone), never sent in clear"
        )
    raise ValueError("masked phone must look like 138****5678: up to 3 digits, 4-8 '*', the last 4 digits")


CommunityCode = Annotated[
    str,
    AfterValidator(_community_code),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": COMMUNITY_CODE_PATTERN,
            "description": "12-digit statistical code of a community or village (of a division above "
            "community level for facts about that division). The Kafka partition key.",
        }
    ),
]
"""The 12-digit statistical division code of a community or village: the partition key."""

GridId = Annotated[
    str,
    AfterValidator(_grid_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": GRID_ID_PATTERN,
            "description": "15-digit grid id: the 12-digit community code followed by 3 digits.",
        }
    ),
]
"""A grid id: the 12-digit community code followed by 3 digits."""

Identifier = Annotated[
    str,
    AfterValidator(_identifier),
    WithJsonSchema({"type": "string", "pattern": IDENTIFIER_PATTERN, **IDENTIFIER_PERSONAL_DATA_SCHEMA}),
]
"""An opaque id (person, organisation, request...): never a phone or ID-card number."""

PlaceCode = Identifier
"""The code of a place: the 12-digit statistical code for divisions, communities and villages;
a code assigned by org-graph for compounds and buildings."""

SHORT_TEXT_MAX = 200
FREE_TEXT_MAX = 8000

ShortText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX),
    AfterValidator(_no_personal_data),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": SHORT_TEXT_MAX, **PERSONAL_DATA_SCHEMA}),
]
"""A name, title or category: 1-200 characters, no clear phone or ID-card number in it."""

FreeText = Annotated[
    str,
    StringConstraints(max_length=FREE_TEXT_MAX),
    AfterValidator(_no_personal_data),
    WithJsonSchema({"type": "string", "maxLength": FREE_TEXT_MAX, **PERSONAL_DATA_SCHEMA}),
]
"""Free text (a summary, a description, a comment): up to 8,000 characters, no clear personal data."""

MaskedPhone = Annotated[
    str,
    AfterValidator(_masked_phone),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MASKED_PHONE_PATTERN,
            "description": "A masked phone number such as 138****5678. Clear numbers are rejected.",
        }
    ),
]
"""A masked phone number such as ``138****5678``; a clear number fails validation."""


def mask_phone(clear: str) -> str:
    """Mask a phone number: ``"13812345678"`` → ``"138****5678"``, ``"027-87654321"`` → ``"027****4321"``.

    Spaces, dashes, brackets and a ``+86``/``0086`` prefix are ignored; a number that is already masked
    is returned unchanged. Raises ``ValueError`` (without echoing the input) if it is not a phone number.
    """
    if re.fullmatch(MASKED_PHONE_PATTERN, clear) is not None:
        return clear
    digits = re.sub(r"[\s()\-]", "", clear)
    for prefix in ("+86", "0086"):
        digits = digits.removeprefix(prefix)
    if re.fullmatch(r"[0-9]{7,12}", digits) is None:
        raise ValueError("not a phone number: expected 7 to 12 digits")
    head = digits[:3] if len(digits) >= 11 else ""
    stars = min(8, max(4, len(digits) - len(head) - 4))
    return head + "*" * stars + digits[-4:]


def redact_personal_data(text: str) -> str:
    """Mask clear mobile numbers and remove ID-card numbers in free text, so it passes ``FreeText``."""
    text = re.sub(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])", "[ID removed]", text)
    return re.sub(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", lambda match: mask_phone(match.group(0)), text)
