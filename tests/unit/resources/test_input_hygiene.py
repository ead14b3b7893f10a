"""Text the HTTP API takes: control characters are refused, line breaks in free text are not."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from civicgrid_runtime.http.text import Name, Text


class Body(BaseModel):
    title: Name
    summary: Text = ""


@pytest.mark.parametrize("bad", ["a\u0000b", "a\u0007b", "a\u001bb", "a\u007fb", "a\u0085b", "a\ud800b"])
def test_a_control_character_in_text_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Body(title="门禁", summary=bad)
    assert refused.value.errors()[0]["loc"] == ("summary",)


def test_a_name_is_one_line() -> None:
    with pytest.raises(ValidationError) as refused:
        Body(title="第一行\n第二行")
    assert refused.value.errors()[0]["loc"] == ("title",)


def test_free_text_keeps_its_tabs_and_line_breaks() -> None:
    assert Body(title="门禁", summary="第一行\n\t第二行\r\n").summary == "第一行\n\t第二行\r\n"
