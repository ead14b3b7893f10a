"""What text org-graph accepts: the contracts' own rules (no clear phone or ID-card number, identifiers that
are not personal data) plus no control characters. Applied at every input (request bodies, path and query
parameters, rows of imported files), so a name that could not be published is refused with a 422 naming
its field instead of failing later, inside the outbox translation.

The personal-data rules are the contracts' types (``ShortText``, ``FreeText``, ``Identifier``), used as
they are: org-graph accepts exactly what it can publish.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, TypeAdapter, ValidationError

from civicgrid_contracts.values import FreeText, Identifier, ShortText

NOTE_MAX = 2000
_LINE_BREAKS = frozenset("\t\n\r")


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """The first control character (or lone surrogate) in ``value`` as ``U+XXXX``; tab and line breaks
    are allowed in multi-line text."""
    allowed = _LINE_BREAKS if multiline else frozenset()
    for char in value:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


def _one_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    found = control_character(value)
    if found is not None:
        raise ValueError(f"control characters are not allowed (found {found})")
    return value


def _multi_line(value: str) -> str:
    found = control_character(value, multiline=True)
    if found is not None:
        raise ValueError(f"control characters other than tab and line breaks are not allowed (found {found})")
    return value


def _no_control(value: str) -> str:
    found = control_character(value)
    if found is not None:
        raise ValueError(f"control characters are not allowed (found {found})")
    return value


Name = Annotated[ShortText, AfterValidator(_one_line)]
"""A name or reference: one line of 1-200 characters (trimmed), no control character, no clear phone or
ID-card number (the contracts' ``ShortText``)."""

Note = Annotated[FreeText, StringConstraints(max_length=NOTE_MAX), AfterValidator(_multi_line)]
"""A reason or note: up to 2,000 characters, tabs and line breaks allowed, no other control character, no
clear personal data (the contracts' ``FreeText``)."""

AttributeText = Annotated[FreeText, StringConstraints(max_length=NOTE_MAX), AfterValidator(_no_control)]
"""A place attribute's text value: published as ``FreeText``, one line."""

Id = Annotated[Identifier, AfterValidator(_no_control)]
"""An id (person, organisation, membership, post): the contracts' ``Identifier`` (1-64 letters, digits or
``. _ : -``, never a phone or ID-card number)."""

_NAME: TypeAdapter[str] = TypeAdapter(Name)
_ID: TypeAdapter[str] = TypeAdapter(Id)


def _problem(adapter: TypeAdapter[str], value: str) -> str | None:
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        # the message of the first error, never the value (it may be the personal data refused)
        return str(error.errors()[0]["msg"]).removeprefix("Value error, ")
    return None


def name_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable name (None if it is); the value itself is never repeated."""
    return _problem(_NAME, value)


def id_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable id (None if it is)."""
    return _problem(_ID, value)
