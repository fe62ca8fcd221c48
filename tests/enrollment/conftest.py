import pytest
from django.core.management import call_command
from django.utils import timezone

from espace_sante.enrollment import services

from .support import csv_lines, person_row


@pytest.fixture
def campaign(db):
    return services.create_campaign("Haute-Garonne 2026", "31", timezone.localdate())


@pytest.fixture
def imported(campaign):
    """Four people: three with an email, one reached by letter only."""
    rows = [person_row(1), person_row(2), person_row(3), person_row(4, email=False)]
    services.import_beneficiaries(campaign, csv_lines(rows), file_name="test.csv")
    return rows


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
