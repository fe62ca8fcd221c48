"""Messaging through the web door: the patient's pages and the professional's portal."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.messaging import services as messaging
from espace_sante.messaging.models import Attachment, Conversation, Message
from espace_sante.record.documents.models import Document
from tests.portal.test_portal import signed_in_professional

from .conftest import make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def marie_client(client, personas):
    client.force_login(personas.mother.user)
    return client


def test_the_inbox_replaces_the_placeholder_and_counts_unread_in_the_navigation(
    marie_client, conversation
):
    response = marie_client.get("/messagerie/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Vos résultats de prise de sang" in page
    assert "Dr Claire Martin" in page
    assert 'data-testid="unread-count">1<' in page
    assert "Envoyer une ordonnance à une pharmacie" in page
    # No button to write to a professional.
    assert "Nouveau message" not in page and "Écrire" not in page
    home = marie_client.get("/").content.decode()
    assert "pas encore" not in marie_client.get("/espace/messagerie/", follow=True).content.decode()
    assert 'href="/messagerie/"' in home


def test_the_conversation_shows_plain_text_with_safe_links(marie_client, personas, dr_martin):
    conversation = messaging.start_conversation(
        dr_martin,
        personas.mother,
        subject="Lien utile",
        body='<script>alert("x")</script> <b>gras</b>\nVoir https://exemple.fr/info',
    )
    page = marie_client.get(f"/messagerie/{conversation.id}/").content.decode()
    assert "<script>alert" not in page and "<b>gras</b>" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;gras&lt;/b&gt;" in page
    assert '<a href="https://exemple.fr/info" rel="nofollow">https://exemple.fr/info</a>' in page
    assert 'data-testid="unread-count"' not in page  # read now


def test_the_patient_replies_through_the_page(marie_client, conversation):
    response = marie_client.post(
        f"/messagerie/{conversation.id}/repondre/", {"body": "Merci beaucoup"}
    )
    assert response.status_code == 302
    assert Message.objects.filter(author_kind="patient").count() == 1
    page = marie_client.get(response["Location"]).content.decode()
    assert "Votre réponse est envoyée." in page and "Merci beaucoup" in page
    assert "Pas encore lu" in page


def test_a_patient_cannot_start_a_conversation_through_the_web(marie_client, personas):
    response = marie_client.post(
        f"/pro/messagerie/ecrire/{personas.gp.id}/",
        {"subject": "Question", "body": "Bonjour", "reply_mode": "reply"},
    )
    assert response.status_code == 404
    response = marie_client.post(
        f"/pro/messagerie/ecrire/{personas.mother.id}/",
        {"subject": "Question", "body": "Bonjour", "reply_mode": "reply"},
    )
    assert response.status_code == 404
    assert Conversation.objects.count() == 0


def test_a_closed_conversation_shows_why_and_has_no_reply_form(
    marie_client, conversation, dr_martin
):
    messaging.close_conversation(dr_martin, conversation, "Merci de prendre rendez-vous.")
    page = marie_client.get(f"/messagerie/{conversation.id}/").content.decode()
    assert "Merci de prendre rendez-vous." in page
    assert "Envoyer la réponse" not in page
    response = marie_client.post(
        f"/messagerie/{conversation.id}/repondre/", {"body": "Et pourtant"}, follow=True
    )
    assert "Cette conversation est fermée" in response.content.decode()
    assert Message.objects.count() == 1


def test_download_and_add_to_documents(marie_client, conversation):
    attachment = Attachment.objects.get()
    response = marie_client.get(f"/messagerie/pieces-jointes/{attachment.id}/")
    assert b"".join(response.streaming_content) == make_pdf("Compte rendu")
    assert "compte-rendu.pdf" in response["Content-Disposition"]
    form = marie_client.get(f"/messagerie/pieces-jointes/{attachment.id}/ajouter-aux-documents/")
    assert 'value="compte-rendu"' in form.content.decode()
    response = marie_client.post(
        f"/messagerie/pieces-jointes/{attachment.id}/ajouter-aux-documents/",
        {"title": "Compte rendu du Dr Martin", "category": "CPT_REND"},
    )
    document = Document.objects.get()
    assert response["Location"] == f"/documents/{document.id}/"
    assert document.source == "messaging" and document.type_code == "DOCPAT03"


def test_add_to_documents_refused_above_the_patient_limit(
    marie_client, personas, dr_martin, settings
):
    settings.RECORD_PATIENT_MAX_BYTES = 2000
    messaging.start_conversation(
        dr_martin,
        personas.mother,
        subject="Gros fichier",
        body="Ci-joint",
        attachments=[SimpleUploadedFile("gros.pdf", make_pdf(pages=30))],
    )
    attachment = Attachment.objects.get()
    response = marie_client.post(
        f"/messagerie/pieces-jointes/{attachment.id}/ajouter-aux-documents/",
        {"title": "Gros", "category": "CPT_REND"},
    )
    assert response.status_code == 200
    assert "taille maximale" in response.content.decode()
    assert Document.objects.count() == 0


def test_delete_a_conversation_after_confirmation(marie_client, conversation):
    page = marie_client.get(f"/messagerie/{conversation.id}/supprimer/").content.decode()
    assert "Supprimer définitivement" in page
    response = marie_client.post(f"/messagerie/{conversation.id}/supprimer/")
    assert response["Location"] == "/messagerie/"
    assert marie_client.get(f"/messagerie/{conversation.id}/").status_code == 404
    assert Conversation.objects.count() == 1  # the professional's copy


# The worker closes database connections: only real commits survive it.
@pytest.mark.django_db(transaction=True)
def test_the_doctor_writes_from_the_portal_and_closes(personas, smtp_server):
    client = signed_in_professional(personas.gp, personas)
    patient_page = client.get(f"/pro/patients/{personas.mother.id}/").content.decode()
    assert "Écrire au patient" in patient_page
    response = client.post(
        f"/pro/messagerie/ecrire/{personas.mother.id}/",
        {
            "subject": "Résultats",
            "body": "Bonjour, vos résultats sont joints.",
            "reply_mode": "reply",
            "attachments": [SimpleUploadedFile("resultats.pdf", make_pdf())],
        },
    )
    conversation = Conversation.objects.get()
    assert response["Location"] == f"/pro/messagerie/{conversation.id}/"
    assert conversation.messages.get().attachments.count() == 1
    messaging.reply(messaging_actor(personas.mother), conversation, "Merci, j'ai une question.")
    inbox = client.get("/pro/messagerie/").content.decode()
    assert "Marie DURAND" in inbox and "1 non lu" in inbox
    assert 'data-testid="unread-count">1<' in inbox
    page = client.get(f"/pro/messagerie/{conversation.id}/").content.decode()
    assert "Merci, j&#x27;ai une question." in page
    assert "Lu le" not in page  # Marie has not opened the doctor's message yet
    client.post(f"/pro/messagerie/{conversation.id}/fermer/", {"reason": "Voir en consultation"})
    conversation.refresh_from_db()
    assert conversation.closed_at is not None


def messaging_actor(person):
    from espace_sante.access.policy import actor_for_user

    return actor_for_user(person.user)


def test_an_unrelated_professional_gets_404(personas, conversation):
    client = signed_in_professional(personas.hospital_doctor, personas)
    assert client.get(f"/pro/messagerie/{conversation.id}/").status_code == 404
    attachment = Attachment.objects.get()
    assert client.get(f"/pro/messagerie/pieces-jointes/{attachment.id}/").status_code == 404
    assert "Vos résultats" not in client.get("/pro/messagerie/").content.decode()


# The worker closes database connections: only real commits survive it.
def test_too_many_replies_in_an_hour_get_a_clear_message(marie_client, conversation, settings):
    settings.MESSAGING_PATIENT_MAX_PER_HOUR = 1
    marie_client.post(f"/messagerie/{conversation.id}/repondre/", {"body": "Première"})
    response = marie_client.post(
        f"/messagerie/{conversation.id}/repondre/", {"body": "Seconde"}, follow=True
    )
    page = response.content.decode()
    assert "Vous avez envoyé 1 message au cours de la dernière heure" in page
    assert "Réessayez dans 60 minutes." in page
    assert Message.objects.filter(author_kind="patient").count() == 1


def test_a_mother_reads_her_child_messages_and_a_stranger_does_not(
    marie_client, client, personas, dr_martin
):
    conversation = messaging.start_conversation(
        dr_martin, personas.child, subject="Vaccins de Léo", body="Rappel ROR à 6 ans."
    )
    page = marie_client.get(f"/messagerie/?espace={personas.child.id}").content.decode()
    assert "Messagerie de Léo DURAND" in page and "Vaccins de Léo" in page
    assert "Rappel ROR" in marie_client.get(f"/messagerie/{conversation.id}/").content.decode()
    assert "Vaccins de Léo" not in marie_client.get("/messagerie/").content.decode()
    client.force_login(personas.elder.user)
    assert client.get(f"/messagerie/?espace={personas.child.id}").status_code == 404
    assert client.get(f"/messagerie/{conversation.id}/").status_code == 404


def test_writing_to_a_patient_needs_her_traits_or_a_reason(personas):
    """« Écrire à … » names the patient: only after the portal's search, or with a reason."""
    from espace_sante.access.models import AuditEntry
    from tests.portal.test_portal import find

    client = signed_in_professional(personas.hospital_doctor, personas)
    page = f"/pro/messagerie/ecrire/{personas.elder.id}/"
    refused = client.get(page)
    assert refused.status_code == 404 and "PETIT" not in refused.content.decode()
    find(client, personas.elder)
    shown = client.get(page)
    assert shown.status_code == 200 and "PETIT" in shown.content.decode()
    assert AuditEntry.objects.filter(
        patient_id=personas.elder.id, action="identity", outcome="allowed"
    ).exists()


def test_only_the_files_she_received_are_offered_to_her_documents(marie_client, conversation):
    marie_client.post(
        f"/messagerie/{conversation.id}/repondre/",
        {
            "body": "Voici mon ancien bilan",
            "attachments": [SimpleUploadedFile("a.pdf", make_pdf())],
        },
    )
    page = marie_client.get(f"/messagerie/{conversation.id}/").content.decode()
    # The doctor's attachment, not the one she just sent from her own files.
    assert page.count("Ajouter à mes documents") == 1


def test_the_professional_sees_who_wrote_each_message_of_his_side(personas, conversation):
    client = signed_in_professional(personas.gp, personas)
    page = client.get(f"/pro/messagerie/{conversation.id}/").content.decode()
    assert "Vous (" not in page
    assert "Dr Claire Martin" in page
