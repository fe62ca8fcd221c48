"""Reminders that reach people: one digest a day, never at night, never any health content.

A professional deposits a document, the agenda reminds of an appointment or a
screening: each is recorded by ``notifications.notify`` and told in the next
digest. The digest is the scheduled job ``notification_digests`` (every quarter
of an hour), enqueued by the scheduler and run by the real worker, and the
email goes through a real SMTP server.
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from espace_sante.access import digest, notifications
from espace_sante.access.models import NotificationDigest, PendingNotification
from espace_sante.access.policy import actor_for_user
from espace_sante.identity.models import User
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from espace_sante.web import schedule
from espace_sante.web.scheduler import Scheduler
from tests.record.conftest import make_pdf
from tests.reliability.parallel import ON_POSTGRES, all_at_once

from .audit_support import pro_actor

pytestmark = pytest.mark.django_db(transaction=True)
PARIS = ZoneInfo("Europe/Paris")
Kind = notifications.Kind
[DIGEST_JOB] = schedule.jobs(["notification_digests"])


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def digest_turn(moment: datetime) -> None:
    """The scheduler's quarter-hour turn at ``moment``, then the worker runs what it queued."""
    with time_machine.travel(moment, tick=False):
        Scheduler([DIGEST_JOB]).fire(DIGEST_JOB)
        call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)


def deposit_by_the_doctor(
    personas, moment: datetime, title="Bilan sanguin confidentiel", patient=None
):
    with time_machine.travel(moment, tick=False):
        return documents.add_document(
            pro_actor(personas.gp),
            patient or personas.mother,
            SimpleUploadedFile("analyse.pdf", make_pdf()),
            NewDocument(
                title=title,
                type_code="11502-2",
                source=Document.Source.PROFESSIONAL,
                author_professional=personas.gp,
            ),
        )


def notify_at(moment: datetime, patient, kind: str) -> None:
    with time_machine.travel(moment, tick=False):
        notifications.notify(patient.id, kind)


def body_of(smtp_server, message) -> str:
    return smtp_server.body(message).replace("\r\n", "\n")


def text_of(smtp_server, message) -> str:
    return f"{message['Subject']}\n{body_of(smtp_server, message)}"


def test_three_notifications_in_a_day_make_one_email_that_names_only_the_kinds(
    personas, smtp_server
):
    marie = personas.mother
    deposit_by_the_doctor(personas, at(3, 9))
    notify_at(at(3, 9, 30), marie, "prevention")  # as the agenda's daily job does
    notify_at(at(3, 10), marie, Kind.APPOINTMENT)

    digest_turn(at(3, 10, 15))
    digest_turn(at(3, 10, 30))  # the next turn finds nothing more to say

    [message] = smtp_server.to(marie.user.email)
    assert (
        message["Subject"].strip() == "espace-santé — Vous avez du nouveau dans votre espace santé"
    )
    body = body_of(smtp_server, message)
    assert "- un nouveau document\n- un rappel de prévention\n- un rendez-vous demain" in body
    assert "Connectez-vous pour le consulter : http" in body and "/comptes/login/" in body
    # No health content: no title, no type, no author, no category.
    for word in ("Bilan", "sanguin", "confidentiel", "11502", "laboratoire", "Biologie"):
        assert word.lower() not in text_of(smtp_server, message).lower()
    for word in ("Martin", "Claire"):
        assert word not in text_of(smtp_server, message)
    assert PendingNotification.objects.filter(patient=marie, sent_at__isnull=True).count() == 0


def test_after_the_days_digest_what_comes_waits_for_the_next_morning(personas, smtp_server):
    marie = personas.mother
    deposit_by_the_doctor(personas, at(3, 9))
    digest_turn(at(3, 9, 15))
    deposit_by_the_doctor(personas, at(3, 11), title="Radio du genou")
    for moment in (at(3, 11, 15), at(3, 15), at(3, 20, 45)):
        digest_turn(moment)
    assert len(smtp_server.to(marie.user.email)) == 1  # one a day

    digest_turn(at(4, 8))
    assert len(smtp_server.to(marie.user.email)) == 2
    assert list(
        NotificationDigest.objects.filter(patient=marie).order_by("day").values_list("day")
    ) == [(at(3, 0).date(),), (at(4, 0).date(),)]


def test_a_notification_at_23_00_is_sent_at_08_00_not_before(personas, smtp_server):
    marie = personas.mother
    deposit_by_the_doctor(personas, at(3, 23))
    for moment in (at(3, 23, 15), at(4, 0), at(4, 3), at(4, 7, 45)):
        digest_turn(moment)
    assert smtp_server.to(marie.user.email) == []

    digest_turn(at(4, 8))
    [message] = smtp_server.to(marie.user.email)
    assert "- un nouveau document" in body_of(smtp_server, message)


def test_the_quiet_hours_are_a_setting(personas, smtp_server, settings):
    settings.NOTIFICATION_QUIET_START = "22:00"
    settings.NOTIFICATION_QUIET_END = "07:00"
    marie = personas.mother
    deposit_by_the_doctor(personas, at(3, 21, 30))
    digest_turn(at(3, 21, 45))  # no longer quiet at 21:45
    assert len(smtp_server.to(marie.user.email)) == 1
    notify_at(at(4, 6), marie, Kind.APPOINTMENT)
    digest_turn(at(4, 6, 45))
    assert len(smtp_server.to(marie.user.email)) == 1
    digest_turn(at(4, 7))
    assert len(smtp_server.to(marie.user.email)) == 2


def test_a_kind_switched_off_sends_nothing(personas, smtp_server):
    marie = personas.mother
    notifications.set_preferences(
        actor_for_user(marie.user), marie, {Kind.NEW_DOCUMENT: False, Kind.PREVENTION: False}
    )
    deposit_by_the_doctor(personas, at(3, 9))
    notify_at(at(3, 9), marie, "prevention")
    digest_turn(at(3, 9, 15))
    assert smtp_server.to(marie.user.email) == []
    assert not PendingNotification.objects.filter(patient=marie).exists()

    # The kinds still on are told, and only those.
    notify_at(at(3, 10), marie, Kind.APPOINTMENT)
    digest_turn(at(3, 10, 15))
    [message] = smtp_server.to(marie.user.email)
    body = body_of(smtp_server, message)
    assert "- un rendez-vous demain" in body
    assert "document" not in body and "prévention" not in body


def test_a_childs_digest_goes_to_his_mother_and_says_whose_space(personas, smtp_server):
    leo, marie = personas.child, personas.mother
    assert leo.user is None and not leo.email
    deposit_by_the_doctor(personas, at(3, 9), title="Carnet de vaccination", patient=leo)
    digest_turn(at(3, 9, 15))
    [message] = smtp_server.to(marie.user.email)
    subject = message["Subject"].strip()
    assert subject == "espace-santé — Vous avez du nouveau dans l'espace santé de Léo"
    body = body_of(smtp_server, message)
    assert "Vous avez du nouveau dans l'espace santé de Léo :\n- un nouveau document" in body
    assert "vaccination" not in text_of(smtp_server, message).lower()


def test_what_the_patient_adds_herself_is_not_news_to_her(personas, smtp_server):
    marie = personas.mother
    with time_machine.travel(at(3, 9), tick=False):
        documents.add_document(
            actor_for_user(marie.user),
            marie,
            SimpleUploadedFile("analyse.pdf", make_pdf()),
            NewDocument(title="Mon bilan", type_code="11502-2", source=Document.Source.PATIENT),
        )
    digest_turn(at(3, 9, 15))
    assert smtp_server.to(marie.user.email) == []


def test_one_sms_too_when_the_person_signs_in_by_sms(personas, smtp_server, caplog):
    jean = personas.elder
    assert jean.mobile_phone
    jean.user.otp_channel = User.OtpChannel.SMS
    jean.user.save()
    notify_at(at(3, 9), jean, Kind.APPOINTMENT)
    notify_at(at(3, 9, 5), jean, "prevention")
    with caplog.at_level(logging.INFO, logger="espace_sante.sms"):
        digest_turn(at(3, 9, 15))
        digest_turn(at(3, 9, 30))
    sms = [r.getMessage() for r in caplog.records if r.name == "espace_sante.sms"]
    assert len(sms) == 1
    assert "vous avez du nouveau dans votre espace santé" in sms[0]
    assert "rendez-vous" not in sms[0] and "prévention" not in sms[0]
    assert len(smtp_server.to(jean.user.email)) == 1


def test_the_digest_task_run_twice_sends_once(personas, smtp_server):
    marie = personas.mother
    deposit_by_the_doctor(personas, at(3, 9))
    with time_machine.travel(at(3, 9, 15), tick=False):
        assert digest.send_digests() == 1
        assert digest.send_digests() == 0
    assert len(smtp_server.to(marie.user.email)) == 1


@ON_POSTGRES
def test_two_workers_at_once_send_one_email(personas, smtp_server):
    marie = personas.mother
    deposit_by_the_doctor(personas, at(3, 9))
    notify_at(at(3, 9, 5), marie, Kind.APPOINTMENT)
    with time_machine.travel(at(3, 9, 15), tick=False):
        results, errors = all_at_once(lambda: digest.send_digests(), count=4)
    assert errors == []
    assert sorted(results) == [0, 0, 0, 1]
    assert len(smtp_server.to(marie.user.email)) == 1
    assert NotificationDigest.objects.filter(patient=marie).count() == 1
