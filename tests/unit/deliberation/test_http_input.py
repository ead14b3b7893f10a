"""What deliberation's HTTP API refuses at its edge (found by the security suite): a motion share that is
no share (0/0 answered 500), control characters in titles and text, personal data in a figure's unit;
and every answer is documented with the fields it holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from civicgrid_deliberation.bootstrap import create_app
from civicgrid_deliberation.entrypoints.schemas import DisclosureIn, FigureIn, MeetingIn, RulesIn, TopicIn
from civicgrid_deliberation.settings import DeliberationSettings


@pytest.mark.parametrize("share", ["0/0", "1/0", "0/3", "3/2", "1/0000001"])
def test_a_motion_share_outside_zero_to_one_is_refused_naming_the_field(share: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RulesIn(motion_share=share)
    assert refused.value.errors()[0]["loc"] == ("motion_share",)


def test_a_share_between_zero_and_one_is_taken_exactly() -> None:
    assert str(RulesIn(motion_share="1/20").to_domain().motion_share.share) == "1/20"
    assert str(RulesIn(motion_share="1/1").to_domain().motion_share.share) == "1"


@pytest.mark.parametrize("text", ["a\u0000b", "a\u0007b", "a\u001bb"])
def test_control_characters_are_refused_in_titles_and_free_text(text: str) -> None:
    with pytest.raises(ValidationError) as title:
        TopicIn(place_code="420106002003-C01", title=text)
    assert title.value.errors()[0]["loc"] == ("title",)
    with pytest.raises(ValidationError) as description:
        TopicIn(place_code="420106002003-C01", title="加装电梯", description=text)
    assert description.value.errors()[0]["loc"] == ("description",)
    with pytest.raises(ValidationError):
        MeetingIn(
            level="community",
            place_code="420106002003",
            meeting_type="decision_hearing",
            title=text,
            scheduled_for="2027-01-15T19:30:00+08:00",
        )


def test_free_text_keeps_its_line_breaks() -> None:
    assert (
        DisclosureIn(place_code="420106002003", kind="finance", title="t", body="一\n二\t三").body
        == "一\n二\t三"
    )


def test_a_figure_s_unit_refuses_a_phone_number_and_anything_longer_than_a_unit() -> None:
    assert FigureIn(label="停车费", amount="1", unit="元").unit == "元"
    for unit in ("请联系13915077754", "a" * 17, "a\u0000"):
        with pytest.raises(ValidationError) as refused:
            FigureIn(label="停车费", amount="1", unit=unit)
        assert refused.value.errors()[0]["loc"] == ("unit",)


def test_every_success_answer_names_its_fields_in_the_openapi_document(tmp_path: Path) -> None:
    document = create_app(DeliberationSettings(keys_dir=tmp_path)).openapi()
    schemas = document["components"]["schemas"]
    vague = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation.get("responses", {}).get(next(iter(operation.get("responses", {"": 0}))), {})
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            schema = schema.get("items", schema)
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            if schema.get("type") == "object" and not schema.get("properties"):
                vague.append(f"{method.upper()} {path}")
    assert vague == []
