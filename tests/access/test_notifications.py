"""Emails after a professional's access: once an hour per professional, never any
health content, always for an emergency (to the patient and the médecin traitant),
and not at all when the patient turned them off.

The emails go through the real task queue (django-tasks' database backend,
run here by its worker) and a real SMTP server.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from espace_sante.access import audit, emails, notifications
from espace_sante.access import services as access
from espace_sante.access.models import AccessNotification, AuditEntry, NotificationPreference
from espace_sante.access.policy import Action, NotAllowed, actor_for_user
from espace_sante.record.documents import services as documents

from .audit_support import add_document, pro_actor, verify

# Real commits: the emails are enqueued after commit and sent by the worker.
pytestmark = pytest.mark.django_db(transaction=True)
PARIS = ZoneInfo("Europe/Paris")
NOON = datetime(2026, 3, 3, 12, 0, tzinfo=PARIS)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)


@pytest.fixture
def bilan(personas):
    return add_document(personas, title="Bilan sanguin confidentiel")


def marie_email(personas) -> str:
    return personas.mother.user.email


def assert_no_health_content(message, *forbidden):
    text = f"{message['Subject']}\n{message.get_body(preferencelist=('plain',)).get_content()}"
    for word in ("Bilan sanguin", "confidentiel", "DOCPAT", "Compte rendu", *forbidden):
        assert word not in text


def test_one_email_per_professional_per_hour_without_the_title(personas, bilan, smtp_server):
    gp = pro_actor(personas.gp)
    with time_machine.travel(NOON, tick=False):
        documents.list_documents(gp, personas.mother.id)
        documents.access_document(gp, bilan.id)
        documents.access_document(gp, bilan.id)
    with time_machine.travel(NOON + timedelta(minutes=59), tick=False):
        documents.access_document(gp, bilan.id)
    run_worker()
    [message] = smtp_server.to(marie_email(personas))
    body = smtp_server.body(message)
    assert message["Subject"].strip() == "espace-santé — Un professionnel a consulté votre dossier"
    assert "Un professionnel de santé a consulté votre dossier le 3 mars 2026 à 12 h 00." in body
    assert "Consultez l'historique des accès dans votre espace" in body
    assert "/parametres/historique/" in body
    assert_no_health_content(message, "Claire", "Martin", "médecin traitant")

    # An hour later, the next consultation is told again.
    with time_machine.travel(NOON + timedelta(minutes=61), tick=False):
        documents.access_document(gp, bilan.id)
    run_worker()
    assert len(smtp_server.to(marie_email(personas))) == 2


def test_each_professional_has_its_own_hour(personas, bilan, smtp_server):
    documents.access_document(pro_actor(personas.gp), bilan.id)
    access.record_consent(pro_actor(personas.hospital_doctor), personas.mother)
    documents.access_document(pro_actor(personas.hospital_doctor), bilan.id)
    run_worker()
    assert len(smtp_server.to(marie_email(personas))) == 2


def test_no_email_when_the_patient_turned_it_off(personas, bilan, smtp_server):
    marie = actor_for_user(personas.mother.user)
    notifications.set_preferences(
        marie, personas.mother, {NotificationPreference.Kind.PROFESSIONAL_ACCESS: False}
    )
    documents.access_document(pro_actor(personas.gp), bilan.id)
    run_worker()
    assert smtp_server.to(marie_email(personas)) == []
    assert not AccessNotification.objects.exists()
    # The change of preference is in Marie's own trail.
    assert AuditEntry.objects.filter(
        patient_id=personas.mother.id, action="notification_settings"
    ).exists()


def test_no_email_for_the_patient_own_reads_nor_for_refusals(personas, bilan, smtp_server):
    documents.access_document(actor_for_user(personas.mother.user), bilan.id)
    with pytest.raises(NotAllowed):
        documents.access_document(pro_actor(personas.pharmacist), bilan.id)
    run_worker()
    assert smtp_server.messages == []


def test_an_emergency_tells_the_patient_and_the_medecin_traitant_always(
    personas, bilan, smtp_server
):
    marie = actor_for_user(personas.mother.user)
    notifications.set_preferences(
        marie, personas.mother, {NotificationPreference.Kind.PROFESSIONAL_ACCESS: False}
    )
    doctor = pro_actor(personas.hospital_doctor)
    justification = "Patiente inconsciente admise aux urgences"
    with time_machine.travel(NOON, tick=False):
        access.start_emergency_access(doctor, personas.mother, "btg", justification)
        documents.list_documents(doctor, personas.mother.id)
        documents.access_document(doctor, bilan.id)
    run_worker()

    [to_marie] = smtp_server.to(marie_email(personas))
    assert to_marie["Subject"].strip() == "espace-santé — Accès d'urgence à votre dossier"
    assert "consulté votre dossier en urgence le 3 mars 2026 à 12 h 00" in smtp_server.body(
        to_marie
    )
    [to_gp] = smtp_server.to(personas.gp.email)
    assert "Accès d'urgence" in to_gp["Subject"]
    gp_body = smtp_server.body(to_gp)
    assert "dont vous êtes le médecin traitant" in gp_body
    for message in (to_marie, to_gp):
        assert_no_health_content(message, "inconsciente", "urgences admise", "Marie", "DURAND")

    entries = AuditEntry.objects.filter(patient_id=personas.mother.id, actor_kind="professional")
    assert {entry.mode for entry in entries} == {"emergency_btg"}
    assert verify()[0]


def test_sending_twice_sends_once(personas, bilan, smtp_server):
    documents.access_document(pro_actor(personas.gp), bilan.id)
    notification = AccessNotification.objects.get()
    assert emails.deliver(notification.id) is True
    assert emails.deliver(notification.id) is False
    run_worker()  # the queued task finds it sent
    assert len(smtp_server.to(marie_email(personas))) == 1
    notification.refresh_from_db()
    assert notification.sent_at is not None


def test_an_access_rolled_back_sends_nothing(personas, bilan, smtp_server):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(pro_actor(personas.gp), Action.READ, personas.mother.id, obj=bilan)
        raise RuntimeError("la page échoue")
    run_worker()
    assert smtp_server.messages == []
    assert not AccessNotification.objects.exists()


def test_a_blocked_professional_gets_no_emergency_access_and_nobody_is_told_he_read(
    personas, bilan, smtp_server
):
    marie = actor_for_user(personas.mother.user)
    access.block_professional(marie, personas.mother, personas.hospital_doctor)
    doctor = pro_actor(personas.hospital_doctor)
    with pytest.raises(access.AccessChangeRefused) as refusal:
        access.start_emergency_access(
            doctor, personas.mother, "btg", "Patiente inconsciente admise aux urgences"
        )
    # The same words as a patient who turned emergencies off: the block is not revealed.
    assert refusal.value.messages == ["Ce patient a refusé l'accès d'urgence à son dossier."]
    assert access.active_emergency(doctor, personas.mother) is None
    with pytest.raises(NotAllowed):
        documents.access_document(doctor, bilan.id)
    run_worker()
    assert smtp_server.messages == []
    attempt = AuditEntry.objects.get(
        patient_id=personas.mother.id, action="emergency", actor_kind="professional"
    )
    assert attempt.outcome == "denied"
    assert verify()[0]


def test_a_worker_stopped_while_sending_leaves_the_email_to_send(personas, bilan, smtp_server):
    """The claim is not kept when sending did not finish (a killed worker rolls back too)."""
    documents.access_document(pro_actor(personas.gp), bilan.id)
    notification = AccessNotification.objects.get()

    def stopped_while_composing():
        raise KeyboardInterrupt  # not an Exception: the old ``except Exception`` kept the claim

    with pytest.raises(KeyboardInterrupt):
        emails.send_once(
            AccessNotification.objects.filter(pk=notification.id),
            "sent_at",
            stopped_while_composing,
        )
    notification.refresh_from_db()
    assert notification.sent_at is None
    assert emails.deliver(notification.id) is True
    assert len(smtp_server.to(marie_email(personas))) == 1
