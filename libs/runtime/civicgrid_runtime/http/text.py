"""Text a service takes over HTTP: the contracts' text types (no clear phone or ID-card number) that
also refuse control characters, with a message naming the one found (the 422 problem names the field).

``Name``: one line (a name, title, category or tag). ``Text``: free text, tabs and line breaks allowed.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

from civicgrid_contracts.values import FreeText, ShortText

_LINE_BREAKS = frozenset("\t\n\r")


def _control_character(value: str, allowed: frozenset[str]) -> str | None:
    for char in value:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


def single_line(value: str) -> str:
    """The validator of ``Name``: refuses any control character."""
    found = _control_character(value, frozenset())
    if found is not None:
        raise ValueError(f"control characters are not allowed (found {found})")
    return value


def _text(value: str) -> str:
    found = _control_character(value, _LINE_BREAKS)
    if found is not None:
        raise ValueError(f"control characters other than tab and line breaks are not allowed (found {found})")
    return value


Name = Annotated[ShortText, AfterValidator(single_line)]
"""A name, title, category or tag: one line, no control character, no clear personal data."""
Text = Annotated[FreeText, AfterValidator(_text)]
"""Free text: may hold tabs and line breaks, no other control character, no clear personal data."""
