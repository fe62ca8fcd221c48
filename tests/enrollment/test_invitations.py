"""Invitations: emails through a real SMTP server, letters as one PDF read back with pypdf."""

import re
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone
from pypdf import PdfReader

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Beneficiary
from espace_sante.identity.models import SpaceState

from .support import csv_lines, person_row

pytestmark = pytest.mark.django_db


def letter_pages(batch) -> list[str]:
    with storages["letters"].open(batch.file_name, "rb") as handle:
        return [page.extract_text() for page in PdfReader(handle).pages]


def test_each_letter_page_carries_the_right_code_for_the_right_person(campaign):
    rows = [person_row(i, email=False) for i in range(1, 8)]
    services.import_beneficiaries(campaign, csv_lines(rows))
    batches = services.build_letter_batches(campaign, per_pdf=5)
    assert [b.count for b in batches] == [5, 2]
    pages = [text for batch in batches for text in letter_pages(batch)]
    assert len(pages) == 7
    for text in pages:
        name = re.search(r"Prenom\d+ (NOM\d+)", text).group(1)
        code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b", text).group(1)
        serial = int(name[3:])
        row = person_row(serial, email=False)
        assert "/activer/" in text and "31000 TOULOUSE" in text
        # The code printed on this person's page opens this person's space, nobody else's.
        checked = services.check_code(row["nir"], row["numero_serie_carte"], code)
        assert checked.person.birth_name == name
        other = person_row(serial % 7 + 1, email=False)
        with pytest.raises(services.CodeRefused):
            services.check_code(other["nir"], other["numero_serie_carte"], code)
    assert set(Beneficiary.objects.values_list("delivery", flat=True)) == {"letter_printed"}
    # Nothing left to print: a second run makes no empty PDF.
    assert services.build_letter_batches(campaign) == []


def test_nothing_goes_out_before_the_campaign_starts(db, smtp_server):
    later = services.create_campaign("Plus tard", "31", timezone.localdate() + timedelta(days=3))
    services.import_beneficiaries(later, csv_lines([person_row(1), person_row(2, email=False)]))
    assert services.send_invitation_emails(later)["sent"] == 0
    assert services.build_letter_batches(later) == []
    assert smtp_server.messages == []


def test_a_failing_email_is_retried_with_backoff_then_becomes_a_letter(
    campaign, settings, smtp_server
):
    services.import_beneficiaries(campaign, csv_lines([person_row(1)]))
    settings.EMAIL_PORT = 9  # nothing listens there: every attempt fails
    settings.ENROLLMENT_EMAIL_MAX_ATTEMPTS = 3
    now = timezone.now()
    first = services.send_invitation_emails(campaign, now=now)
    assert first == {"sent": 0, "retry": 1, "letter": 0}
    beneficiary = Beneficiary.objects.get()
    assert beneficiary.next_attempt_at == now + timedelta(seconds=300)
    assert beneficiary.person.provisional_codes.count() == 0  # never sent, not kept
    # Not due yet: nothing happens.
    assert services.send_invitation_emails(campaign, now=now)["retry"] == 0
    second = services.send_invitation_emails(campaign, now=now + timedelta(seconds=301))
    assert second["retry"] == 1
    beneficiary.refresh_from_db()
    assert beneficiary.next_attempt_at == now + timedelta(seconds=301 + 600)
    third = services.send_invitation_emails(campaign, now=now + timedelta(seconds=1000))
    assert third == {"sent": 0, "retry": 0, "letter": 1}
    beneficiary.refresh_from_db()
    assert beneficiary.channel == "letter" and beneficiary.delivery == "pending"
    batch = services.build_letter_batches(campaign)[0]
    assert "NOM1" in letter_pages(batch)[0]
    assert beneficiary.person.space_state == SpaceState.INVITED


def test_the_invite_task_emails_prints_and_schedules_the_automatic_creation(campaign, smtp_server):
    from django_tasks_db.models import DBTaskResult

    from espace_sante.enrollment.tasks import send_invitations

    services.import_beneficiaries(campaign, csv_lines([person_row(1), person_row(2, email=False)]))
    result = send_invitations.call(str(campaign.pk))
    assert result == {"sent": 1, "retry": 0, "letter": 0, "letter_batches": 1}
    assert smtp_server.wait_for("personne1@exemple.test")
    scheduled = DBTaskResult.objects.get(task_path__endswith="create_due_spaces")
    assert scheduled.run_after > timezone.now() + timedelta(days=41)
