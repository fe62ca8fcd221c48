"""A full disk while a citizen replies with an attachment (issue 12, item 4)."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.messaging.models import Attachment, Message
from tests.record.test_disk_full import BIG_PDF, FULL

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.mother.user)
    return client


def test_a_reply_with_an_attachment_says_the_disk_is_full(
    signed_in,
    conversation,
    full_disk,
):
    before = (Message.objects.count(), Attachment.objects.count())
    response = signed_in.post(
        f"/messagerie/{conversation.id}/repondre/",
        {"body": "Voici le compte rendu.", "attachments": [SimpleUploadedFile("cr.pdf", BIG_PDF)]},
        follow=True,
    )
    assert FULL in response.content.decode()
    assert (Message.objects.count(), Attachment.objects.count()) == before
    assert full_disk.files() == []


def test_a_reply_refused_by_a_full_disk_keeps_what_was_typed(signed_in, conversation, full_disk):
    response = signed_in.post(
        f"/messagerie/{conversation.id}/repondre/",
        {
            "body": "Voici le compte rendu de ma prise de sang.",
            "attachments": [SimpleUploadedFile("cr.pdf", BIG_PDF)],
        },
    )
    assert response.status_code == 503
    assert response["Retry-After"]
    page = html.unescape(response.content.decode())
    assert html.unescape(FULL) in page
    assert ">\nVoici le compte rendu de ma prise de sang.</textarea>" in page
    assert "choisissez-les à nouveau" in page
