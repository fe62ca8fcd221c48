"""The state machine: every transition and every refusal, through the services."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Beneficiary, SpaceTransition
from espace_sante.enrollment.services import CodeRefused, TransitionRefused
from espace_sante.identity.models import Person, SpaceState

from .conftest import run_worker
from .support import csv_lines, person_row

pytestmark = pytest.mark.django_db


def code_from(mailbox, address) -> str:
    body = mailbox.body(mailbox.wait_for(address))
    return re.search(r"code provisoire : ([A-Z0-9-]{14})", body).group(1)


@pytest.fixture
def invited(imported, campaign, smtp_server):
    """Everyone informed: emails sent through the real SMTP server."""
    done = services.send_invitation_emails(campaign)
    assert done == {"sent": 3, "retry": 0, "letter": 0}
    return smtp_server


def row_of(serial):
    return person_row(serial)


def check(serial, code):
    row = row_of(serial)
    return services.check_code(row["nir"], row["numero_serie_carte"], code)


def events(serial):
    person = Person.objects.get(birth_name=f"NOM{serial}")
    return [(t.event, t.to_state) for t in services.history(person)]


def test_the_invitation_email_has_the_code_and_no_health_content(invited):
    message = invited.wait_for("personne1@exemple.test")
    body = invited.body(message)
    assert "code provisoire" in body and "/activer/" in body and "/opposition/" in body
    beneficiary = Beneficiary.objects.get(person__birth_name="NOM1")
    assert beneficiary.delivery == "email_sent"
    assert beneficiary.auto_create_after - beneficiary.informed_at == timedelta(days=42)
    # Only the digest is stored.
    code = code_from(invited, "personne1@exemple.test")
    stored = Person.objects.get(birth_name="NOM1").provisional_codes.get()
    assert services.normalize_code(code) not in stored.digest


def test_activation_invited_to_activated(invited):
    result = check(1, code_from(invited, "personne1@exemple.test"))
    person = services.activate(result, email="nom1@exemple.test", password="Un-mot-de-passe-2026")
    person.refresh_from_db()
    assert person.space_state == SpaceState.ACTIVATED
    assert person.user.email == "nom1@exemple.test" and person.user.check_password(
        "Un-mot-de-passe-2026"
    )
    assert events(1) == [("imported", "invited"), ("activated", "activated")]


def test_a_used_code_is_refused(invited):
    code = code_from(invited, "personne1@exemple.test")
    services.activate(check(1, code), email="nom1@exemple.test", password="Un-mot-de-passe-2026")
    with pytest.raises(CodeRefused) as refused:
        check(1, code)
    assert refused.value.reason == "used"


def test_an_expired_code_is_refused(invited):
    code = code_from(invited, "personne1@exemple.test")
    later = timezone.now() + timedelta(days=43)
    row = row_of(1)
    with pytest.raises(CodeRefused) as refused:
        services.check_code(row["nir"], row["numero_serie_carte"], code, now=later)
    assert refused.value.reason == "expired"


def test_a_wrong_nir_or_card_serial_is_refused_like_an_unknown_person(invited):
    code = code_from(invited, "personne1@exemple.test")
    row = row_of(1)
    for nir, serial in [(row_of(2)["nir"], row["numero_serie_carte"]), (row["nir"], "99999999")]:
        with pytest.raises(CodeRefused) as refused:
            services.check_code(nir, serial, code)
        assert refused.value.reason == "mismatch"


def test_wrong_codes_lock_the_person_even_with_the_right_code_afterwards(invited, settings):
    code = code_from(invited, "personne1@exemple.test")
    reasons = []
    for _ in range(settings.ENROLLMENT_CODE_MAX_FAILURES):
        with pytest.raises(CodeRefused) as refused:
            check(1, "AAAA-BBBB-CCCC")
        reasons.append(refused.value.reason)
    assert reasons[-1] == "locked" and set(reasons[:-1]) == {"mismatch"}
    with pytest.raises(CodeRefused) as refused:
        check(1, code)
    assert refused.value.reason == "locked"
    # After the lock, the right code works.
    row = row_of(1)
    later = timezone.now() + timedelta(minutes=settings.ENROLLMENT_CODE_LOCK_MINUTES + 1)
    assert services.check_code(row["nir"], row["numero_serie_carte"], code, now=later)


def test_objection_invited_to_objected_with_a_receipt(invited):
    record = services.object_to_creation(check(2, code_from(invited, "personne2@exemple.test")))
    assert record.to_state == SpaceState.OBJECTED
    assert events(2)[-1] == ("objected", "objected")
    pdf = services.objection_receipt_pdf(record.pk)
    from io import BytesIO

    from pypdf import PdfReader

    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "NOM2" in text and "Aucun espace santé ne sera créé" in text


def test_objection_after_activation_is_refused(invited):
    services.activate(
        check(1, code_from(invited, "personne1@exemple.test")),
        email="nom1@exemple.test",
        password="Un-mot-de-passe-2026",
    )
    services.request_new_code(row_of(1)["nir"], row_of(1)["numero_serie_carte"])
    # An activated space gets no new code: nothing to object with.
    assert len(invited.to("nom1@exemple.test")) == 0
    person = Person.objects.get(birth_name="NOM1")
    code = services.issue_code(person, 42)
    with pytest.raises(TransitionRefused):
        services.object_to_creation(check(1, code))
    assert Person.objects.get(birth_name="NOM1").space_state == SpaceState.ACTIVATED


def test_objected_then_asks_for_a_space(invited):
    services.object_to_creation(check(2, code_from(invited, "personne2@exemple.test")))
    services.request_new_code(row_of(2)["nir"], row_of(2)["numero_serie_carte"])
    body = invited.body(invited.wait_for("personne2@exemple.test", count=2))
    code = re.search(r"code provisoire pour votre espace santé : ([A-Z0-9-]{14})", body).group(1)
    services.activate(check(2, code), email="nom2@exemple.test", password="Un-mot-de-passe-2026")
    assert events(2) == [
        ("imported", "invited"),
        ("objected", "objected"),
        ("requested", "created"),
        ("activated", "activated"),
    ]


def test_a_new_code_goes_to_the_contact_on_file_and_replaces_the_old_one(invited):
    old = code_from(invited, "personne3@exemple.test")
    row = row_of(3)
    services.request_new_code(row["nir"], row["numero_serie_carte"])
    new_mail = invited.wait_for("personne3@exemple.test", count=2)
    assert "nouveau code" in invited.body(new_mail)
    with pytest.raises(CodeRefused):
        check(3, old)
    # An unknown person: nothing sent, no error either.
    services.request_new_code(row_of(99)["nir"], row_of(99)["numero_serie_carte"])
    assert len(invited.messages) == 4


@pytest.mark.django_db(transaction=True)  # the worker commits and closes its connection
def test_automatic_creation_after_the_delay_then_activation(invited):
    assert services.create_due_spaces() == 0  # not due yet
    later = timezone.now() + timedelta(days=42, minutes=1)
    # The letter-only person (NOM4) was never informed: not created.
    assert services.create_due_spaces(now=later) == 3
    assert services.create_due_spaces(now=later) == 0
    assert events(3) == [("imported", "invited"), ("auto_created", "created")]
    assert Person.objects.get(birth_name="NOM4").space_state == SpaceState.INVITED
    run_worker()
    assert "a été créé" in invited.body(invited.wait_for("personne3@exemple.test", count=2))
    services.request_new_code(row_of(3)["nir"], row_of(3)["numero_serie_carte"])
    body = invited.body(invited.wait_for("personne3@exemple.test", count=3))
    code = re.search(r"espace santé : ([A-Z0-9-]{14})", body).group(1)
    services.activate(check(3, code), email="nom3@exemple.test", password="Un-mot-de-passe-2026")
    assert events(3)[-1] == ("activated", "activated")


def test_objection_after_automatic_creation_closes_the_space(invited):
    later = timezone.now() + timedelta(days=42, minutes=1)
    services.create_due_spaces(now=later)
    person = Person.objects.get(birth_name="NOM1")
    code = services.issue_code(person, 42)
    record = services.object_to_creation(check(1, code))
    assert record.from_state == SpaceState.CREATED and record.to_state == SpaceState.CLOSED
    assert person.closure.purge_after > timezone.now() + timedelta(days=3650)


def test_the_machine_refuses_what_lifecycle_md_does_not_allow(invited):
    person = Person.objects.get(birth_name="NOM1")
    with pytest.raises(TransitionRefused):
        services.close_space(person)  # nothing to close: never created
    for event in ("reopened", "resumed", "requested"):
        assert not services.can(person, event)
    assert SpaceTransition.objects.filter(patient=person).count() == 1


def test_suspension_and_its_end_return_to_the_previous_state(invited):
    from django.db import transaction

    person = Person.objects.get(birth_name="NOM1")
    services.activate(
        check(1, code_from(invited, "personne1@exemple.test")),
        email="nom1@exemple.test",
        password="Un-mot-de-passe-2026",
    )
    with transaction.atomic():
        services.transition(services.lock_person(person.pk), "suspended", note="fraude")
    with transaction.atomic():
        services.transition(services.lock_person(person.pk), "resumed")
    assert events(1)[-2:] == [("suspended", "suspended"), ("resumed", "activated")]


def test_a_new_code_goes_by_sms_when_only_a_mobile_is_on_file(campaign, caplog):
    row = person_row(7, email=False, telephone="06 12 34 56 78")
    services.import_beneficiaries(campaign, csv_lines([row]))
    with caplog.at_level("INFO", logger="espace_sante.sms"):
        services.request_new_code(row["nir"], row["numero_serie_carte"])
    sms = [r.getMessage() for r in caplog.records if r.name == "espace_sante.sms"]
    assert len(sms) == 1
    code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", sms[0]).group(1)
    assert services.check_code(row["nir"], row["numero_serie_carte"], code)


def test_a_new_code_without_email_or_mobile_is_a_new_letter_that_keeps_the_delay(campaign):
    row = person_row(8, email=False)
    services.import_beneficiaries(campaign, csv_lines([row]))
    first = services.build_letter_batches(campaign)
    informed = Beneficiary.objects.get().auto_create_after
    services.request_new_code(row["nir"], row["numero_serie_carte"])
    second = services.build_letter_batches(campaign)
    assert len(first) == len(second) == 1
    beneficiary = Beneficiary.objects.get()
    assert beneficiary.letter_batch == second[0] and beneficiary.auto_create_after == informed


def test_the_command_line_runs_a_whole_campaign(db, tmp_path, smtp_server, capsys):
    from django.core.management import call_command

    call_command("enroll", "campaign", "Gers", "--department", "32")
    source = tmp_path / "gers.csv"
    rows = [person_row(1, departement="32", lieu_naissance="32013"), person_row(2, email=False)]
    source.write_text("".join(csv_lines(rows)), "utf-8")
    call_command("enroll", "import", str(source), "--campaign", "Gers")
    call_command("enroll", "invite", "--campaign", "Gers")
    call_command("enroll", "create-due")
    call_command("enroll", "purge")
    out = capsys.readouterr().out
    assert "département 32" in out and "délai 42 j" in out
    assert "1 importées" in out and "1 refusées" in out  # person 2 lives in the 31
    assert "1 courriels envoyés" in out
    assert "0 espaces créés automatiquement" in out and "0 espaces supprimés" in out
