"""New identifiers: a prefix and 20 random letters.

Letters only, so that no id ever contains a digit run that reads as a phone or ID-card number
(the contracts reject identifiers that do, e.g. ``req-…13554475831…``).
"""

from __future__ import annotations

import uuid

_LETTERS = str.maketrans("0123456789", "ghijkmnpqr")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20].translate(_LETTERS)}"
