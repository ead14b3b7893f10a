import pytest

from civicgrid_runtime.pii import hash_id_number, redact, redact_text
from civicgrid_runtime.regions import normalise_region_code, region_covers, region_prefix


def test_a_street_code_covers_its_communities_and_nothing_else():
    assert region_covers("420106002000", "420106002003")
    assert not region_covers("420106002000", "420106003001")


def test_region_prefixes_stop_at_the_last_significant_level():
    assert region_prefix("420000000000") == "42"
    assert region_prefix("420100000000") == "4201"
    assert region_prefix("420106000000") == "420106"
    assert region_prefix("420106002000") == "420106002"
    assert region_prefix("420106002003") == "420106002003"


def test_a_short_region_code_is_padded_to_twelve_digits():
    assert normalise_region_code("420106") == "420106000000"


def test_a_region_code_of_odd_length_is_rejected():
    with pytest.raises(ValueError, match="not 2, 4, 6, 9 or 12 digits"):
        normalise_region_code("4201060")


def test_phone_numbers_are_masked_and_id_numbers_removed_from_log_text():
    text = "caller 13812345678 id 42010619900101123X called"
    assert redact_text(text) == "caller 138****5678 id [ID removed] called"


def test_redaction_reaches_nested_values():
    assert redact({"a": ["tel 15900001111"], "b": 3}) == {"a": ["tel 159****1111"], "b": 3}


def test_id_numbers_hash_the_same_whatever_the_case_of_x_and_differ_by_salt():
    assert hash_id_number("42010619900101123x", "s1") == hash_id_number("42010619900101123X", "s1")
    assert hash_id_number("42010619900101123X", "s1") != hash_id_number("42010619900101123X", "s2")
    assert "42010619900101123X" not in hash_id_number("42010619900101123X", "s1")


def test_a_malformed_id_number_is_refused():
    with pytest.raises(ValueError, match="17 digits"):
        hash_id_number("12345", "salt")
