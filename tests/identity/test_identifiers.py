"""French identifiers are checked with their keys, and errors say what to do."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir

from espace_sante.identity import validators


def nir_with_key(first13: str) -> str:
    return first13 + stdnum_nir.calc_check_digits(first13)


def test_a_valid_nir_is_accepted_with_spaces_and_returned_compact():
    assert validators.validate_nir("2 88 03 31 555 123 45") == "288033155512345"


def test_a_nir_with_a_wrong_key_is_refused_with_a_hint_to_check_the_card():
    with pytest.raises(ValidationError) as error:
        validators.validate_nir("288033155512346")
    assert "carte Vitale" in error.value.messages[0]


def test_a_short_nir_says_how_many_characters_were_typed():
    with pytest.raises(ValidationError) as error:
        validators.validate_nir("28803315551")
    assert "15 caractères" in error.value.messages[0]
    assert "11" in error.value.messages[0]


def test_corsican_nirs_use_2a_and_2b_for_the_key():
    for first13 in ("185022A004010", "292032B123456"):
        number = nir_with_key(first13)
        assert validators.validate_nir(number) == number


@given(
    sex=st.sampled_from("12"),
    year=st.integers(0, 99),
    month=st.integers(1, 12),
    dept=st.integers(1, 95),
    rest=st.integers(0, 99_999_999),
)
def test_any_nir_with_its_key_is_valid_and_any_other_key_is_not(sex, year, month, dept, rest):
    first13 = f"{sex}{year:02d}{month:02d}{dept:02d}{rest:08d}"[:13]
    number = nir_with_key(first13)
    assert validators.validate_nir(number) == number
    wrong = f"{(int(number[13:]) % 97) + 1:02d}"
    with pytest.raises(ValidationError):
        validators.validate_nir(first13 + wrong)


def test_the_nir_must_agree_with_sex_and_birth_date():
    nir = "288033155512345"  # woman born in March 1988
    validators.check_nir_matches_traits(nir, "F", date(1988, 3, 14))
    with pytest.raises(ValidationError) as error:
        validators.check_nir_matches_traits(nir, "M", date(1987, 3, 14))
    assert set(error.value.error_dict) == {"sex", "birth_date"}
    with pytest.raises(ValidationError) as error:
        validators.check_nir_matches_traits(nir, "F", date(1988, 4, 14))
    assert "mois" in error.value.messages[0]


def test_rpps_numbers_carry_a_luhn_check_digit():
    assert validators.validate_rpps("10001234565") == "10001234565"
    with pytest.raises(ValidationError) as error:
        validators.validate_rpps("10001234566")
    assert "chiffre de contrôle" in error.value.messages[0]
    with pytest.raises(ValidationError) as error:
        validators.validate_rpps("1000123456")
    assert "11 chiffres" in error.value.messages[0]


def test_finess_numbers_carry_a_key_and_accept_corsica():
    assert validators.validate_finess("310001235") == "310001235"
    corsican = "2A000123" + validators.finess_check_digit("2A000123")
    assert validators.validate_finess(corsican) == corsican
    with pytest.raises(ValidationError) as error:
        validators.validate_finess("310001236")
    assert "clé" in error.value.messages[0]
    with pytest.raises(ValidationError):
        validators.validate_finess("3100012")


@pytest.mark.parametrize("code", ["31", "2A", "2B", "01", "95", "971", "976"])
def test_departments_of_mainland_corsica_and_overseas_are_accepted(code):
    assert validators.validate_department(code) == code


@pytest.mark.parametrize("code", ["00", "20", "96", "977", "3", "ABC"])
def test_departments_that_do_not_exist_are_refused(code):
    with pytest.raises(ValidationError):
        validators.validate_department(code)


def test_birth_place_is_an_insee_code_or_a_country_code():
    assert validators.validate_birth_place("31555") == "31555"
    assert validators.validate_birth_place("2A004") == "2A004"
    assert validators.validate_birth_place("99134") == "99134"  # born in Spain
    with pytest.raises(ValidationError) as error:
        validators.validate_birth_place("Toulouse")
    assert "INSEE" in error.value.messages[0]


def test_mobile_numbers_are_stored_in_international_form():
    assert validators.normalize_mobile("06 12 34 56 78") == "+33612345678"
    assert validators.normalize_mobile("+33 7 12 34 56 78") == "+33712345678"
    with pytest.raises(ValidationError):
        validators.normalize_mobile("01 23 45 67 89")  # a landline cannot receive SMS


def test_unknown_profession_codes_are_refused():
    assert validators.validate_profession("10") == "10"
    with pytest.raises(ValidationError):
        validators.validate_profession("99")
