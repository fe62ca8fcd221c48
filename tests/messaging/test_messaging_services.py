"""Secure messaging through its services: who starts, who replies, what stays secret."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from espace_sante.access import services as access
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import NotAllowed, actor_for_user
from espace_sante.messaging import services as messaging
from espace_sante.messaging.models import Attachment, Conversation, Message
from espace_sante.messaging.services import MessagingRefused
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document

from .conftest import make_pdf, pro_actor, run_worker

pytestmark = pytest.mark.django_db
MARKER = "MARQUEUR-SECRET-4412"


def actions(patient, **filters):
    return list(
        AuditEntry.objects.filter(patient_id=patient.id, **filters)
        .order_by("sequence")
        .values_list("action", "outcome")
    )


def test_a_doctor_writes_and_the_patient_reads_with_a_read_acknowledgement(
    personas, marie, dr_martin, conversation
):
    [item] = messaging.inbox(marie, personas.mother)
    assert item.subject == "Vos résultats de prise de sang"
    assert item.unread == 1
    assert messaging.unread_for_patient(personas.mother.id) == 1
    assert item.conversation.sender_label == "Dr Claire Martin"

    page = messaging.read_conversation(marie, conversation)
    [message] = page.messages
    assert "Vos résultats sont normaux" in message.body
    assert message.author == "Dr Claire Martin, Cabinet médical du Parc"
    assert message.attachments[0].filename == "compte-rendu.pdf"
    assert page.may_reply and not page.may_close
    assert messaging.unread_for_patient(personas.mother.id) == 0

    # The doctor sees that the patient read it.
    seen = messaging.read_conversation(dr_martin, conversation)
    assert seen.messages[0].mine and seen.messages[0].read_ack is not None
    assert seen.may_close

    trail = actions(personas.mother)
    assert ("message_start", "allowed") in trail
    assert ("message_send", "allowed") in trail
    assert ("message_list", "allowed") in trail
    assert trail.count(("message_read", "allowed")) == 2


def test_the_patient_replies_and_the_doctor_sees_it_unread_first(
    personas, marie, dr_martin, conversation
):
    messaging.reply(marie, conversation, "Merci docteur, à bientôt.")
    assert messaging.unread_for_professional(dr_martin) == 1
    [group] = messaging.professional_inbox(dr_martin)
    assert group.patient == personas.mother and group.unread == 1
    page = messaging.read_conversation(dr_martin, conversation)
    assert [m.body for m in page.messages][-1] == "Merci docteur, à bientôt."
    assert page.messages[-1].author == "Marie DURAND"
    assert messaging.unread_for_professional(dr_martin) == 0
    # The patient sees her message was read.
    mine = messaging.read_conversation(marie, conversation).messages[-1]
    assert mine.mine and mine.read_ack is not None


def test_a_patient_cannot_start_a_conversation_with_a_professional(personas, marie):
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(
            marie, personas.mother, subject="Question", body="Bonjour docteur"
        )
    assert "Vous ne pouvez pas commencer une conversation" in refused.value.messages[0]
    assert Conversation.objects.count() == 0
    assert actions(personas.mother) == [("message_start", "denied")]


def test_another_citizen_or_an_unrelated_professional_sees_nothing(
    personas, conversation, dr_martin
):
    jean = actor_for_user(personas.elder.user)
    benali = pro_actor(personas.hospital_doctor)
    attachment = Attachment.objects.get()
    for stranger in (jean, benali):
        with pytest.raises(NotAllowed):
            messaging.access_conversation(stranger, conversation.id)
        with pytest.raises(NotAllowed):
            messaging.access_attachment(stranger, attachment.id)
    with pytest.raises(NotAllowed):
        messaging.inbox(jean, personas.mother)
    assert messaging.professional_inbox(benali) == []
    denied = AuditEntry.objects.filter(patient_id=personas.mother.id, outcome="denied")
    assert denied.count() == 5


def test_a_closed_conversation_refuses_replies_and_the_patient_sees_why(
    personas, marie, dr_martin, conversation
):
    messaging.close_conversation(dr_martin, conversation, "Suivi terminé, prenez rendez-vous.")
    conversation.refresh_from_db()
    with pytest.raises(MessagingRefused) as refused:
        messaging.reply(marie, conversation, "Encore une question")
    assert "fermée" in refused.value.messages[0]
    page = messaging.read_conversation(marie, conversation)
    assert page.close_reason == "Suivi terminé, prenez rendez-vous."
    assert not page.may_reply
    with pytest.raises(MessagingRefused):
        messaging.reply(dr_martin, conversation, "Un dernier mot")
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "mode, words",
    [
        (Conversation.ReplyMode.NO_REPLY, "n'attend pas de réponse"),
        (Conversation.ReplyMode.REPLIES_BLOCKED, "bloqué les réponses"),
    ],
)
def test_reply_modes_without_replies(personas, marie, dr_martin, mode, words):
    conversation = messaging.start_conversation(
        dr_martin, personas.mother, subject="Information", body="Rappel vaccin", reply_mode=mode
    )
    with pytest.raises(MessagingRefused) as refused:
        messaging.reply(marie, conversation, "Merci")
    assert words in refused.value.messages[0]
    # The professional can still follow up.
    messaging.reply(dr_martin, conversation, "Pensez à prendre rendez-vous.")


def test_a_blocked_professional_cannot_send_but_the_patient_keeps_the_history(personas, marie):
    benali = pro_actor(personas.hospital_doctor)
    conversation = messaging.start_conversation(
        benali, personas.mother, subject="Échographie cardiaque", body="Résultats joints."
    )
    access.block_professional(marie, personas.mother, personas.hospital_doctor)
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(
            benali, personas.mother, subject="Nouveau", body="Nouveau message"
        )
    assert "ne peut pas recevoir votre message" in refused.value.messages[0]
    with pytest.raises(MessagingRefused):
        messaging.reply(benali, conversation, "Relance")
    # Marie still reads it, sees it closed, and cannot reply into it.
    [item] = messaging.inbox(marie, personas.mother)
    assert item.closed
    page = messaging.read_conversation(marie, conversation)
    assert page.messages[0].body == "Résultats joints."
    assert "bloqué ce professionnel" in page.no_reply_reason
    with pytest.raises(MessagingRefused):
        messaging.reply(marie, conversation, "Réponse")
    assert Message.objects.count() == 1


def test_attachment_saved_into_documents_with_the_type_the_patient_chose(
    personas, marie, conversation
):
    attachment = Attachment.objects.get()
    document = messaging.save_attachment_to_documents(
        marie, attachment.id, category="BIOLOGIE", title="Prise de sang mars"
    )
    assert document.source == Document.Source.MESSAGING
    assert document.type_code == "DOCPAT05" and document.category == "BIOLOGIE"
    assert document.author_professional == personas.gp
    opened = record.access_document(marie, document.id)
    assert record.read_content(opened) == make_pdf("Compte rendu")
    assert record.document_title(opened) == "Prise de sang mars"


def test_attachment_too_large_for_the_patient_limits_is_not_added(
    personas, marie, dr_martin, settings
):
    settings.RECORD_PATIENT_MAX_BYTES = 2000
    big = make_pdf("Grand compte rendu", pages=30)
    assert len(big) > 2000
    conversation = messaging.start_conversation(
        dr_martin,
        personas.mother,
        subject="Compte rendu complet",
        body="Ci-joint",
        attachments=[SimpleUploadedFile("cr.pdf", big)],
    )
    attachment = Attachment.objects.get(message__conversation=conversation)
    with pytest.raises(MessagingRefused) as refused:
        messaging.save_attachment_to_documents(marie, attachment.id, category="CPT_REND")
    assert "taille maximale" in refused.value.messages[0]
    assert Document.objects.count() == 0
    # She can still download it.
    found, _ = messaging.access_attachment(marie, attachment.id)
    assert b"".join(messaging.iter_attachment(found)) == big


def test_attachments_get_the_document_content_checks(personas, dr_martin):
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(
            dr_martin,
            personas.mother,
            subject="Programme",
            body="Voir pièce jointe",
            attachments=[SimpleUploadedFile("outil.exe", b"MZ\x90\x00" + b"\x00" * 200)],
        )
    assert "« outil.exe »" in refused.value.messages[0]
    assert "type de fichier" in refused.value.messages[0]
    with pytest.raises(MessagingRefused):
        messaging.start_conversation(
            dr_martin,
            personas.mother,
            subject="Cassé",
            body="PDF abîmé",
            attachments=[SimpleUploadedFile("cr.pdf", b"%PDF-1.4\n garbage")],
        )
    assert Conversation.objects.count() == 0 and Attachment.objects.count() == 0


def test_nothing_is_readable_in_clear_in_the_database_or_the_blobs(
    personas, marie, dr_martin, private_keys_and_blobs
):
    conversation = messaging.start_conversation(
        dr_martin,
        personas.mother,
        subject=f"Objet {MARKER}",
        body=f"Corps {MARKER}",
        attachments=[SimpleUploadedFile(f"{MARKER}.txt", f"Texte {MARKER}\n".encode() * 50)],
    )
    messaging.reply(marie, conversation, f"Réponse {MARKER}")
    messaging.close_conversation(dr_martin, conversation, f"Raison {MARKER}")
    marker = MARKER.encode()
    blobs = [p for p in private_keys_and_blobs.rglob("*") if p.is_file()]
    assert blobs
    for path in blobs:
        assert marker not in path.read_bytes()
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            if table not in connection.introspection.table_names(cursor):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value)
                    needle = marker if isinstance(raw, bytes) else MARKER
                    assert needle not in raw, f"{MARKER} en clair dans {table}"
    # …and yet the patient reads everything back.
    page = messaging.read_conversation(marie, conversation)
    assert page.subject == f"Objet {MARKER}" and page.close_reason == f"Raison {MARKER}"


def test_deleting_removes_the_conversation_for_the_patient_only(
    personas, marie, dr_martin, conversation
):
    messaging.delete_for_patient(marie, conversation)
    assert messaging.inbox(marie, personas.mother) == []
    with pytest.raises(NotAllowed):
        messaging.access_conversation(marie, conversation.id)
    with pytest.raises(NotAllowed):
        messaging.access_attachment(marie, Attachment.objects.get().id)
    assert messaging.read_conversation(dr_martin, conversation).messages
    stale = Conversation.objects.get()
    stale.patient_deleted_at = None  # as loaded by a page shown before the deletion
    with pytest.raises(MessagingRefused) as refused:
        messaging.reply(dr_martin, stale, "Vous êtes là ?")
    assert "nouvelle conversation" in refused.value.messages[0]
    with pytest.raises(NotAllowed):
        messaging.delete_for_patient(dr_martin, conversation)


def test_rate_limit_per_sender_per_hour(personas, dr_martin, settings):
    settings.MESSAGING_PROFESSIONAL_MAX_PER_HOUR = 2
    for n in range(2):
        messaging.start_conversation(dr_martin, personas.mother, subject=f"n{n}", body="Bonjour")
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(dr_martin, personas.mother, subject="n3", body="Bonjour")
    assert "2 messages au cours de la dernière heure" in refused.value.messages[0]
    assert "Réessayez dans" in refused.value.messages[0]
    # Another professional is not held back.
    messaging.start_conversation(
        pro_actor(personas.hospital_doctor), personas.mother, subject="n", body="Bonjour"
    )


def test_retention_warns_then_deletes_old_conversations_and_their_files(
    personas,
    conversation,
    private_keys_and_blobs,
    settings,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    settings.MESSAGING_RETENTION_DAYS = 60
    settings.MESSAGING_RETENTION_WARNING_DAYS = 10
    recent = messaging.start_conversation(
        pro_actor(personas.hospital_doctor), personas.mother, subject="Récent", body="Bonjour"
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=timezone.now() - timedelta(days=55)
    )
    blob = private_keys_and_blobs / Attachment.objects.get().blob_name
    # Not warned yet: nothing is deleted, even past the period.
    assert messaging.apply_retention(timezone.now() + timedelta(days=30)) == 0
    assert messaging.warn_before_retention() == 1
    assert messaging.warn_before_retention() == 0  # once
    [email] = smtp_server.to(personas.mother.user.email)
    body = smtp_server.body(email)
    assert "1 conversation de votre messagerie" in body and "sera supprimée à partir du" in body
    assert "prise de sang" not in body and "Martin" not in body
    assert messaging.apply_retention() == 0  # warned, but not 10 days ago
    later = timezone.now() + timedelta(days=11)
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.apply_retention(later) == 1
    assert list(Conversation.objects.values_list("id", flat=True)) == [recent.id]
    assert Attachment.objects.count() == 0 and not blob.exists()
    assert messaging.apply_retention(later) == 0  # idempotent
    assert ("message_delete", "allowed") in actions(personas.mother, actor_kind="system")


def test_a_new_message_cancels_the_warning(personas, marie, conversation, settings):
    settings.MESSAGING_RETENTION_DAYS = 60
    settings.MESSAGING_RETENTION_WARNING_DAYS = 10
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=timezone.now() - timedelta(days=55)
    )
    messaging.warn_before_retention()
    messaging.reply(marie, Conversation.objects.get(), "Toujours d'actualité")
    assert Conversation.objects.get().retention_warned_at is None
    assert messaging.apply_retention(timezone.now() + timedelta(days=11)) == 0


# The worker closes database connections: only real commits survive it.
@pytest.mark.django_db(transaction=True)
def test_the_patient_gets_an_email_without_health_content(personas, dr_martin, smtp_server):
    messaging.start_conversation(
        dr_martin, personas.mother, subject=f"Objet {MARKER}", body=f"Corps {MARKER}"
    )
    run_worker()
    [email] = smtp_server.to(personas.mother.user.email)
    assert "Dr Claire Martin" in email["Subject"]
    body = smtp_server.body(email)
    assert "Vous avez reçu un nouveau message de Dr Claire Martin" in body
    assert MARKER not in body and MARKER not in email["Subject"]
    run_worker()
    assert len(smtp_server.to(personas.mother.user.email)) == 1  # sent once


# The worker closes database connections: only real commits survive it.
@pytest.mark.django_db(transaction=True)
def test_no_email_when_the_patient_turned_new_messages_off(personas, marie, dr_martin, smtp_server):
    from espace_sante.access import notifications

    notifications.set_preferences(marie, personas.mother, {"new_message": False})
    messaging.start_conversation(dr_martin, personas.mother, subject="Objet", body="Corps")
    run_worker()
    assert smtp_server.to(personas.mother.user.email) == []


def test_inbox_queries_do_not_grow_with_the_number_of_conversations(personas, marie, dr_martin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from espace_sante.crypto import services as crypto

    def queries(run) -> int:
        with crypto.key_scope(), CaptureQueriesContext(connection) as captured:
            run()
        return len(captured)

    benali = pro_actor(personas.hospital_doctor)
    for pro in (dr_martin, benali):
        messaging.start_conversation(pro, personas.mother, subject="Un", body="Bonjour")
    messaging.start_conversation(dr_martin, personas.elder, subject="Un", body="Bonjour")
    few_patient = queries(lambda: messaging.inbox(marie, personas.mother))
    few_pro = queries(lambda: messaging.professional_inbox(dr_martin))
    for n in range(6):
        messaging.start_conversation(dr_martin, personas.mother, subject=f"n{n}", body="Suite")
        messaging.start_conversation(dr_martin, personas.elder, subject=f"n{n}", body="Suite")
    assert queries(lambda: messaging.inbox(marie, personas.mother)) == few_patient
    assert queries(lambda: messaging.professional_inbox(dr_martin)) == few_pro


def test_the_retention_command_also_sweeps_orphan_attachment_files(
    personas, conversation, private_keys_and_blobs, settings
):
    import os
    import time

    from django.core.management import call_command

    kept = private_keys_and_blobs / Attachment.objects.get().blob_name
    orphan = kept.with_name("00000000-0000-4000-8000-000000000000.bin")
    orphan.write_bytes(b"chiffre")
    fresh = kept.with_name("00000000-0000-4000-8000-000000000001.bin")
    fresh.write_bytes(b"envoi en cours")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(kept, (old, old))
    call_command("messaging_retention")
    assert kept.exists() and fresh.exists() and not orphan.exists()
    # The documents' own sweep leaves the messaging folder alone.
    from espace_sante.record.documents import services as record_services

    record_services.sweep_orphan_blobs()
    assert kept.exists()


def test_an_organisation_mailbox_is_followed_by_the_colleagues(personas, marie, dr_martin):
    from espace_sante.identity import services as identity

    cabinet = personas.gp.roles.get().organization
    identity.add_role(personas.hospital_doctor, cabinet, "Remplaçant")
    colleague = actor_for_user(personas.hospital_doctor.user, organization_id=cabinet.id)
    conversation = messaging.start_conversation(
        dr_martin, personas.mother, subject="Secrétariat", body="Rendez-vous", from_mailbox=True
    )
    assert conversation.sender_label == "Cabinet médical du Parc"
    messaging.reply(marie, conversation, "Merci")
    assert messaging.unread_for_professional(colleague) == 1
    page = messaging.read_conversation(colleague, conversation)
    assert page.messages[0].author == "Cabinet médical du Parc (Dr Claire Martin)"
    messaging.reply(colleague, conversation, "Rendez-vous confirmé.")
    # A conversation Dr Martin wrote in her own name stays hers.
    own = messaging.start_conversation(dr_martin, personas.mother, subject="Perso", body="x")
    with pytest.raises(NotAllowed):
        messaging.access_conversation(colleague, own.id)


@pytest.mark.django_db(transaction=True)
def test_a_child_without_account_the_mother_is_told(personas, dr_martin, smtp_server):
    messaging.start_conversation(
        dr_martin, personas.child, subject=f"Vaccins {MARKER}", body="Rappel ROR"
    )
    run_worker()
    [email] = smtp_server.to(personas.mother.user.email)
    assert email["Subject"].endswith("Nouveau message de Dr Claire Martin pour Léo")
    body = smtp_server.body(email)
    assert f"/messagerie/?espace={personas.child.id}" in body
    assert MARKER not in body and "ROR" not in body


def test_a_professional_writes_for_an_organisation(personas):
    alone = actor_for_user(personas.gp.user)  # no organisation chosen
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(alone, personas.mother, subject="Objet", body="Corps")
    assert "Choisissez d'abord la structure" in refused.value.messages[0]


@pytest.mark.parametrize(
    ("subject", "body", "words"),
    [
        ("Résultats\u202efdp.exe", "Voici vos résultats.", "inversion du sens"),
        ("Résultats", "Voici vos résultats.\u0000", "caractère de contrôle"),
        ("Résultats", "Ouvrez \u2066lien\u2069 vite", "inversion du sens"),
    ],
)
def test_a_message_hiding_characters_is_refused_and_nothing_is_sent(
    personas, dr_martin, marie, subject, body, words
):
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(dr_martin, personas.mother, subject=subject, body=body)
    assert words in refused.value.messages[0]
    assert messaging.inbox(marie, personas.mother) == []


def test_a_reply_hiding_an_override_is_refused(personas, dr_martin, marie):
    conversation = messaging.start_conversation(
        dr_martin, personas.mother, subject="Rendez-vous", body="Pouvez-vous venir mardi ?"
    )
    with pytest.raises(MessagingRefused) as refused:
        messaging.reply(marie, conversation, "Oui\u202e, merci")
    assert "inversion du sens" in refused.value.messages[0]
    page = messaging.read_conversation(marie, conversation)
    assert [m.body for m in page.messages] == ["Pouvez-vous venir mardi ?"]


def test_an_attachment_named_to_disguise_its_type_is_refused(personas, dr_martin, marie):
    disguised = SimpleUploadedFile("resultats\u202efdp.exe", make_pdf(), "application/pdf")
    with pytest.raises(MessagingRefused) as refused:
        messaging.start_conversation(
            dr_martin,
            personas.mother,
            subject="Résultats",
            body="Ci-joint.",
            attachments=[disguised],
        )
    assert "inversion du sens" in refused.value.messages[0]
    assert "fdp" not in refused.value.messages[0]  # the disguised name is not shown back
    assert Attachment.objects.count() == 0
