"""Message templates live in data (``rules.json``); rendering never fails on a missing field."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


_FORMATTER = string.Formatter()


def render(template: str, values: Mapping[str, Any]) -> str:
    """``str.format`` with missing fields shown as a dash (a template edit must not break delivery)."""
    return _FORMATTER.vformat(template, (), _Lenient(values))
