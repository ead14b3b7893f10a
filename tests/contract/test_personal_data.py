"""Personal data in contracts: phones only masked, no ID-card numbers anywhere."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from civicgrid_contracts import (
    FreeText,
    Identifier,
    MaskedPhone,
    ShortText,
    all_specs,
    mask_phone,
    redact_personal_data,
)

masked = TypeAdapter(MaskedPhone)
text = TypeAdapter(FreeText)
identifier = TypeAdapter(Identifier)


@pytest.mark.parametrize("value", ["138****5678", "027****4321", "****4321", "071*****4321"])
def test_a_masked_phone_is_accepted(value: str) -> None:
    assert masked.validate_python(value) == value


@pytest.mark.parametrize("value", ["13812345678", "+8613812345678", "027-87654321"])
def test_a_clear_phone_number_is_rejected_with_a_message_saying_phones_must_be_masked(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        masked.validate_python(value)
    message = str(caught.value.errors(include_input=False)[0]["msg"])
    assert "phone numbers must be masked" in message
    assert value not in message


@pytest.mark.parametrize("value", ["1381234****", "138*5678", "12*****", "138****567x"])
def test_a_badly_masked_phone_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError, match="must look like 138"):
        masked.validate_python(value)


@pytest.mark.parametrize(
    ("clear", "expected"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("027-87654321", "027****4321"),
        ("87654321", "****4321"),
        ("138****5678", "138****5678"),
    ],
)
def test_mask_phone_keeps_at_most_the_first_three_and_last_four_digits(clear: str, expected: str) -> None:
    assert mask_phone(clear) == expected
    assert masked.validate_python(mask_phone(clear)) == expected


def test_mask_phone_rejects_what_is_not_a_phone_number_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not a phone number") as caught:
        mask_phone("call me 42")
    assert "42" not in str(caught.value)


@pytest.mark.parametrize(
    "value", ["owner 42010219900101123X complained", "phone:13812345678", "13912345678 and more"]
)
def test_free_text_with_a_clear_phone_or_id_card_number_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError, match="must not contain a clear phone number or an ID-card number"):
        text.validate_python(value)


def test_redacting_free_text_makes_it_acceptable() -> None:
    redacted = redact_personal_data("王某 42010219900101123X, tel 13812345678/13912345678, room 1201")
    assert redacted == "王某 [ID removed], tel 138****5678/139****5678, room 1201"
    assert text.validate_python(redacted) == redacted


@pytest.mark.parametrize("value", ["42010219900101123X", "13812345678"])
def test_an_identifier_cannot_be_an_id_card_or_phone_number(value: str) -> None:
    with pytest.raises(ValidationError, match="must not be a phone number or an ID-card number"):
        identifier.validate_python(value)


def test_no_payload_has_a_field_for_an_id_card_number() -> None:
    fields = {name for spec in all_specs() for name in spec.payload_model.model_fields}
    suspicious = {
        name for name in fields if any(word in name for word in ("id_card", "id_number", "identity"))
    }
    assert suspicious == set()


def test_every_phone_field_of_every_payload_is_a_masked_phone() -> None:
    for spec in all_specs():
        schema = json.dumps(spec.payload_model.model_json_schema())
        for name in spec.payload_model.model_fields:
            if "phone" in name:
                assert r"\\*{4,8}" in schema, f"{spec.type}.{name} is not a MaskedPhone"


short = TypeAdapter(ShortText)


def test_short_text_is_one_to_two_hundred_characters_as_its_schema_says() -> None:
    assert short.json_schema()["minLength"] == 1
    assert short.json_schema()["maxLength"] == 200
    assert short.validate_python("x" * 200) == "x" * 200
    for value in ("", "x" * 201):
        with pytest.raises(ValidationError):
            short.validate_python(value)


def test_free_text_is_at_most_eight_thousand_characters_as_its_schema_says() -> None:
    assert text.json_schema()["maxLength"] == 8000
    assert text.validate_python("") == ""
    with pytest.raises(ValidationError):
        text.validate_python("x" * 8001)
