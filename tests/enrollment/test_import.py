"""Importing the insurer's beneficiary file: streamed, checked line by line, idempotent."""

import csv

import pytest
from django.core.management import call_command

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Beneficiary, SpaceTransition
from espace_sante.identity.models import Person, SpaceState

from .support import csv_lines, person_row

pytestmark = pytest.mark.django_db


def test_good_lines_are_imported_and_bad_ones_reported_by_line_number(campaign):
    rows = [
        person_row(1),
        person_row(2, nir="123"),  # line 3
        person_row(3, departement="75"),  # line 4: another département
        person_row(4, email=False, adresse=""),  # line 5: no way to reach the person
        person_row(5, numero_serie_carte="12AB"),  # line 6
        person_row(6, email=False),
    ]
    rows[1]["nir"] = "123"
    report = services.import_beneficiaries(campaign, csv_lines(rows), file_name="f.csv")

    assert (report.lines, report.imported, report.refused) == (6, 2, 4)
    refused = {(e.line, e.field) for e in report.errors.all()}
    assert refused == {(3, "nir"), (4, "departement"), (5, "adresse"), (6, "numero_serie_carte")}
    messages = " ".join(e.message for e in report.errors.all())
    assert "15 caractères" in messages and "75" in messages
    csv_text = "".join(services.refused_lines_csv(report))
    assert csv_text.splitlines()[0] == "ligne;colonne;erreur"
    assert csv_text.splitlines()[1].startswith("3;nir;")

    person = Person.objects.get(birth_name="NOM1")
    assert person.space_state == SpaceState.INVITED
    beneficiary = Beneficiary.objects.get(person=person)
    assert beneficiary.channel == Beneficiary.Channel.EMAIL
    assert Beneficiary.objects.get(person__birth_name="NOM6").channel == "letter"
    assert SpaceTransition.objects.filter(patient=person, event="imported").count() == 1


def test_a_nir_that_disagrees_with_the_birth_date_is_refused(campaign):
    row = person_row(1, date_naissance="1990-01-01")
    report = services.import_beneficiaries(campaign, csv_lines([row]))
    assert report.refused == 1
    assert report.errors.get().field == "date_naissance"


def test_importing_the_same_file_twice_changes_nothing(campaign):
    lines = csv_lines([person_row(i) for i in range(1, 8)])
    first = services.import_beneficiaries(campaign, lines, chunk_size=3)
    again = services.import_beneficiaries(campaign, lines, chunk_size=3)
    assert first.imported == 7
    assert (again.imported, again.already_present) == (0, 7)
    assert Person.objects.count() == 7
    assert Beneficiary.objects.count() == 7
    assert SpaceTransition.objects.count() == 7


def test_the_same_person_twice_in_a_file_is_refused_the_second_time(campaign):
    row = person_row(1)
    report = services.import_beneficiaries(campaign, csv_lines([row, dict(row)]))
    assert (report.imported, report.refused) == (1, 1)
    assert "ligne 2" in report.errors.get().message


def test_someone_who_already_has_a_space_is_not_invited(campaign):
    row = person_row(1)
    services.import_beneficiaries(campaign, csv_lines([row]))
    Person.objects.filter(birth_name="NOM1").update(space_state=SpaceState.ACTIVATED)
    other = services.create_campaign("Autre", "31", campaign.start_date)
    report = services.import_beneficiaries(other, csv_lines([row]))
    assert report.not_eligible == 1
    assert Beneficiary.objects.get(campaign=other).delivery == "not_eligible"


def test_a_file_without_the_right_columns_says_which_are_missing(campaign):
    report = services.import_beneficiaries(campaign, ["nir;nom\n", "1;2\n"])
    assert report.imported == 0
    assert "prenoms" in report.errors.get().message


def test_the_command_imports_shows_progress_and_writes_the_report(campaign, tmp_path, capsys):
    source = tmp_path / "beneficiaires.csv"
    source.write_text("".join(csv_lines([person_row(1), person_row(2, sexe="X")])), "utf-8")
    report = tmp_path / "erreurs.csv"
    call_command("enroll", "import", str(source), "--campaign", campaign.name, "--report", report)
    out = capsys.readouterr()
    assert "1 importées" in out.out and "1 refusées" in out.out
    assert "lignes lues" in out.err
    assert "3;sexe;" in report.read_text("utf-8")


def test_the_refused_lines_report_neutralises_what_a_spreadsheet_would_run(campaign):
    # OWASP "CSV injection": a cell starting with = + - @ is a formula to a spreadsheet.
    report = services.import_beneficiaries(campaign, csv_lines([person_row(1, nir="123")]))
    report.errors.create(line=9, field="=cmd|' /C calc'!A0", message='=HYPERLINK("http://x")')
    report.errors.create(line=10, field="nom", message="+33 6 12 34 56 78")
    rows = list(csv.reader("".join(services.refused_lines_csv(report)).splitlines(), delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row[1:]]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert '\'=HYPERLINK("http://x")' in cells
