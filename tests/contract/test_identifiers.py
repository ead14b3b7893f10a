"""Identifiers: a phone or ID-card number as a whole segment is refused; digits inside random ids are not."""

import pytest
from pydantic import TypeAdapter, ValidationError

from civicgrid_contracts.values import Identifier

IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


@pytest.mark.parametrize("value", ["p-d0d6a17840194694", "req:a13812345678b", "0d6a178401946941x"])
def test_a_random_id_that_merely_contains_phone_like_digits_is_accepted(value: str) -> None:
    assert IDENTIFIER.validate_python(value) == value


@pytest.mark.parametrize("value", ["13812345678", "p-13812345678", "person.42010619900101123X"])
def test_an_id_with_a_phone_or_id_card_number_as_a_segment_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="must not be a phone number or an ID-card number"):
        IDENTIFIER.validate_python(value)
