"""Twenty identical messaging actions at once (messaging.md): limits hold, one change each.

Replies and prescriptions count against an hourly limit per sender; closing,
deleting and the retention jobs change a conversation once and say so once.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from espace_sante.access.models import AuditEntry
from espace_sante.messaging import services as messaging
from espace_sante.messaging.models import Conversation, Message
from espace_sante.pharmacy import services as pharmacy
from espace_sante.pharmacy.models import PrescriptionOrder
from tests.messaging.conftest import run_worker

from .parallel import ON_POSTGRES, PARALLEL, race_of

pytestmark = [ON_POSTGRES, pytest.mark.django_db(transaction=True)]


def traced(patient, action: str, **more) -> int:
    return AuditEntry.objects.filter(
        patient_id=patient.id, action=action, outcome="allowed", **more
    ).count()


def refusal_code(error) -> str:
    return getattr(error, "code", "") or type(error).__name__


def test_twenty_replies_at_once_stop_at_the_hourly_limit(personas, marie, conversation, settings):
    settings.MESSAGING_PATIENT_MAX_PER_HOUR = 3
    race = race_of(lambda index: messaging.reply(marie, conversation, f"Réponse n° {index}"))
    sent = Message.objects.filter(conversation=conversation, author_person_id=personas.mother.id)
    race.report(
        "réponses au-delà de la limite horaire",
        kind=lambda message: "envoyé",
        messages=sent.count(),
        audit=traced(personas.mother, "message_send", actor_person_id=personas.mother.id),
    )
    # The limit protects professionals from a flood: 3 an hour, not one more.
    assert sent.count() == 3
    assert len(race.results) == 3
    assert [refusal_code(error) for error in race.errors] == ["rate_limited"] * (PARALLEL - 3)
    assert traced(personas.mother, "message_send", actor_person_id=personas.mother.id) == 3


def test_twenty_closings_at_once_close_once(personas, dr_martin, conversation):
    copies = [Conversation.objects.get(pk=conversation.pk) for _ in range(PARALLEL)]
    race = race_of(
        lambda index: messaging.close_conversation(
            dr_martin, copies[index], f"Suivi terminé (onglet {index})"
        )
    )
    closed = Conversation.objects.get(pk=conversation.pk)
    race.report("fermeture", audit=traced(personas.mother, "message_close"))
    assert race.errors == []
    assert closed.closed_at is not None
    # Every caller is told the conversation is closed, with the date and reason that hold.
    assert {result.closed_at for result in race.results} == {closed.closed_at}
    assert traced(personas.mother, "message_close") == 1


def test_twenty_deletions_by_the_patient_at_once_delete_once(personas, marie, conversation):
    copies = [Conversation.objects.get(pk=conversation.pk) for _ in range(PARALLEL)]
    race = race_of(lambda index: messaging.delete_for_patient(marie, copies[index]))
    deleted = Conversation.objects.get(pk=conversation.pk)
    race.report("suppression par la patiente", audit=traced(personas.mother, "message_delete"))
    assert race.errors == []
    assert deleted.patient_deleted_at is not None
    assert traced(personas.mother, "message_delete") == 1


def test_twenty_retention_warnings_at_once_send_one_email(personas, conversation, smtp_server):
    long_ago = timezone.now() - timedelta(days=1095)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=long_ago)
    race = race_of(lambda: messaging.warn_before_retention())
    emails = smtp_server.to(personas.mother.user.email)
    race.report(
        "avertissement de conservation",
        kind=lambda told: "a prévenu" if told else "rien à faire",
        courriels=len(emails),
    )
    assert race.errors == []
    assert sum(race.results) == 1
    assert len(emails) == 1


def test_twenty_retention_runs_at_once_delete_once(personas, conversation, marie):
    messaging.delete_for_patient(marie, conversation)
    long_ago = timezone.now() - timedelta(days=1096)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=long_ago)
    race = race_of(lambda: messaging.apply_retention())
    race.report(
        "suppression par la conservation",
        kind=lambda removed: "a supprimé" if removed else "rien à faire",
        audit=traced(personas.mother, "message_delete") - 1,
    )
    assert race.errors == []
    assert sum(race.results) == 1
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert traced(personas.mother, "message_delete") == 2  # hers, then the system's


def test_twenty_dispensings_of_one_prescription_dispense_it_once(
    personas, marie, carmes, pharmacist, photo_bytes, smtp_server
):
    order = pharmacy.send_prescription(
        marie,
        personas.mother,
        carmes,
        photo=SimpleUploadedFile("ordonnance.jpg", photo_bytes),
        note="Je passe demain matin.",
    )
    copies = [PrescriptionOrder.objects.get(pk=order.pk) for _ in range(PARALLEL)]
    race = race_of(lambda index: pharmacy.set_status(pharmacist, copies[index], "dispensed"))
    run_worker()
    status_messages = Message.objects.filter(
        conversation_id=order.conversation_id, author_professional_id=personas.pharmacist.id
    )
    emails = smtp_server.to(personas.mother.user.email)
    race.report(
        "délivrance d'une ordonnance",
        kind=lambda order: "délivrée",
        messages=status_messages.count(),
        audit=traced(personas.mother, "prescription_status"),
        courriels=len(emails),
    )
    assert PrescriptionOrder.objects.get(pk=order.pk).status == "dispensed"
    assert len(race.results) == 1
    # The others are told it is already dispensed, in words, never an error page.
    assert {error.messages[0] for error in race.errors} == {
        "Cette ordonnance est déjà « délivrée »."
    }
    assert status_messages.count() == 1
    assert traced(personas.mother, "prescription_status") == 1
    assert len(emails) == 1


def test_twenty_prescriptions_at_once_stop_at_the_hourly_limit(
    personas, marie, carmes, photo_bytes, settings
):
    settings.MESSAGING_PATIENT_MAX_PER_HOUR = 3
    race = race_of(
        lambda: pharmacy.send_prescription(
            marie,
            personas.mother,
            carmes,
            photo=SimpleUploadedFile("ordonnance.jpg", photo_bytes),
            note="",
        )
    )
    orders = PrescriptionOrder.objects.filter(patient=personas.mother)
    race.report(
        "ordonnances au-delà de la limite horaire", kind=lambda o: "envoyée", lignes=orders.count()
    )
    assert orders.count() == 3
    assert [refusal_code(error) for error in race.errors] == ["rate_limited"] * (PARALLEL - 3)
