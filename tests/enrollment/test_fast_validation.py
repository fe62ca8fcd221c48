"""The quick reading of plain lines gives exactly what the detailed checks give.

The import reads most lines through a fast path (no exceptions, a direct
mod-97 key); any line it does not take goes through the detailed checks. Both
must agree on every line, valid or not, or a person would be imported with
other traits, or a bad line let through.
"""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir

from espace_sante.enrollment import services, validators
from espace_sante.identity.models import Person

from .support import csv_lines, person_row

TODAY = date(2026, 6, 1)
digits = st.text("0123456789", min_size=13, max_size=13)


@given(digits, st.sampled_from(["", "2A", "2B"]))
def test_the_nir_key_is_the_one_python_stdnum_computes(body, corsica):
    if corsica:
        body = body[:5] + corsica + body[7:]
    assert f"{validators.nir_key(body + '00'):02d}" == stdnum_nir.calc_check_digits(body)


@given(st.from_regex(validators._EMAIL_PLAIN, fullmatch=True))
def test_every_email_the_fast_path_accepts_django_accepts(email):
    if len(email) <= 254:
        validate_email(email)


def _variants(serial: int):
    """A valid line, then each column replaced by a value that is odd, wrong or fine."""
    base = person_row(serial)
    odd = {
        "nir": [
            base["nir"].lower(),
            " " + base["nir"][:5] + " " + base["nir"][5:],
            base["nir"][:-2] + "00",
            base["nir"][:13],
            "7" + base["nir"][1:],
            "1" + base["nir"][1:] if base["sexe"] == "F" else "2" + base["nir"][1:],
            "２" + base["nir"][1:],  # a full-width digit
            "",
        ],
        "sexe": ["f", "m", "X", " F ", ""],
        "date_naissance": [
            "1990-01-01",
            "2030-01-01",
            "1950-02-30",
            base["date_naissance"].replace("-", "/"),
            "/".join(reversed(base["date_naissance"].split("-"))),
            base["date_naissance"] + " ",
            "1950-1-1",
            "",
        ],
        "nom_naissance": ["  de  la  Tour ", "", "   ", "nom\tavec\ttab"],
        "prenoms": ["Jean  Marie", "", "Zoé"],
        "lieu_naissance": ["2A004", "2a004", "99100", "3155", "31 555", ""],
        "courriel": [
            "",
            "A.B@Exemple.FR",
            "a..b@exemple.fr",
            "a@b",
            "pas-une-adresse",
            "élodie@exemple.fr",
            "a@exemple.xn--p1ai",
            "a@localhost",
            " x@y.fr ",
        ],
        "telephone": ["06 12 34 56 78", "+33712345678", "0112345678", "12"],
        "adresse": ["", "  3  rue  Haute "],
        "code_postal": ["", "31 000", "3100", "３1000"],
        "commune": ["", "saint-jean"],
        "departement": ["75", " 31", "2A", "", "310", "３1"],
        "numero_serie_carte": ["", "1234567", "1234 5678", "123456789012", "12AB"],
    }
    return base, odd


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=5000),
    st.data(),
)
@example(serial=1, data=None)
def test_both_readings_agree_on_any_line(serial, data):
    row, odd = _variants(serial)
    if data is not None:
        for column in data.draw(st.sets(st.sampled_from(sorted(odd)), max_size=3)):
            row[column] = data.draw(st.sampled_from(odd[column]))
    assert validators.read_line(row, "31", TODAY) == validators.read_line_checked(row, "31", TODAY)


def test_a_plain_line_is_read_without_the_detailed_checks():
    # The fast path really takes the common line (else the import would be slow again).
    assert validators._read_plain_line(person_row(3), "31", TODAY) is not None
    assert validators._read_plain_line(person_row(3, email=False), "31", TODAY) is not None


@pytest.mark.django_db
def test_lines_refused_among_plain_ones_keep_their_line_numbers(campaign):
    rows = [person_row(i) for i in range(1, 8)]
    rows[2]["nir"] = rows[2]["nir"][:-2] + "00"  # line 4: wrong key
    rows[4]["courriel"] = "a..b@exemple.fr"  # line 6
    rows[5]["nir"] = " " + rows[5]["nir"]  # line 7: odd but valid, imported
    report = services.import_beneficiaries(campaign, csv_lines(rows))
    assert (report.lines, report.imported, report.refused) == (7, 5, 2)
    assert {(e.line, e.field) for e in report.errors.all()} == {(4, "nir"), (6, "courriel")}


def test_the_detailed_checks_still_explain_a_wrong_key():
    row = person_row(1)
    row["nir"] = row["nir"][:-2] + "00"
    line, errors = validators.read_line(row, "31", TODAY)
    assert line is None
    assert errors[0][0] == "nir" and "clé" in errors[0][1]
    with pytest.raises(ValidationError):
        validate_email("a..b@exemple.fr")


@pytest.mark.django_db
def test_names_with_backslashes_or_the_word_none_are_stored_as_written(campaign):
    # The bulk insert writes COPY text: such values must be escaped, not read as \N or codes.
    rows = [
        person_row(1, nom_naissance="O\\Neil", prenoms="None"),
        person_row(2, adresse="3 rue \\N", commune="None"),
        person_row(3),
    ]
    report = services.import_beneficiaries(campaign, csv_lines(rows))
    assert report.imported == 3
    first = Person.objects.get(birth_name="O\\NEIL")
    assert first.first_names == "None"
    second = Person.objects.get(city="NONE")
    assert second.address_line == "3 rue \\N"
