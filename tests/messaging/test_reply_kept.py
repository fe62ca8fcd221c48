"""A refused reply never loses what the person typed, and the help tells the real limit."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.messaging.models import Message
from tests.record.conftest import make_pdf

pytestmark = pytest.mark.django_db

# documents.md: a patient's files (and attachments she sends) are limited to 5 MB.
PATIENT_LIMIT_MO = 5


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.mother.user)
    return client


def a_pdf_of(size: int) -> bytes:
    pdf = make_pdf("Compte rendu")
    return pdf + b"%" + b"0" * (size - len(pdf) - 2) + b"\n"


def test_the_reply_form_tells_the_patient_her_own_attachment_limit(signed_in, conversation):
    page = signed_in.get(f"/messagerie/{conversation.id}/").content.decode()
    assert f"{PATIENT_LIMIT_MO} Mo chacun au maximum" in page


def test_a_too_large_attachment_is_refused_and_the_reply_stays_in_the_form(signed_in, conversation):
    before = Message.objects.count()
    response = signed_in.post(
        f"/messagerie/{conversation.id}/repondre/",
        {
            "body": "Bonjour docteur, voici mon bilan.",
            "attachments": [SimpleUploadedFile("bilan.pdf", a_pdf_of(7_000_000))],
        },
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert Message.objects.count() == before
    assert ">\nBonjour docteur, voici mon bilan.</textarea>" in page
    assert f"{PATIENT_LIMIT_MO} Mo" in page
    assert "n'a pas été envoyé" in page


def test_an_empty_reply_says_what_to_do(signed_in, conversation):
    response = signed_in.post(f"/messagerie/{conversation.id}/repondre/", {"body": ""})
    assert "Écrivez votre message avant de l'envoyer." in html.unescape(response.content.decode())
