"""Dates and times written one way, by the French typographic rules (issue 18, item 11)."""

from datetime import UTC, date, datetime

from django.template import Context, Template


def render(text: str, **values) -> str:
    return Template(text).render(Context(values))


def test_the_first_of_the_month_is_1er_and_times_are_written_14_h_05():
    # December: Paris is UTC+1.
    moment = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)
    assert render("{{ d|jour }}", d=date(2026, 12, 1)) == "1er décembre 2026"
    assert render("{{ d|jour }}", d=date(2026, 3, 3)) == "3 mars 2026"
    assert render("{{ m|jour_heure }}", m=moment) == "1er décembre 2026 à 14 h 05"
    assert render("{{ m|heure }}", m=datetime(2026, 7, 14, 7, 0, tzinfo=UTC)) == "9 h 00"


def test_a_moment_near_midnight_is_dated_in_paris():
    # 23:30 UTC on 31 July is already 1 August in Paris (UTC+2 in summer).
    assert render("{{ m|jour }}", m=datetime(2026, 7, 31, 23, 30, tzinfo=UTC)) == "1er août 2026"


def test_an_empty_date_writes_nothing():
    assert render("[{{ d|jour }}][{{ d|jour_heure }}][{{ d|heure }}]", d=None) == "[][][]"
