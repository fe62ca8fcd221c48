"""A full disk while a citizen adds a document or a message attachment (issue 12, item 4).

The blob store sits on a real 64 KiB disk (``full_disk``: a tmpfs the kernel
fills, ENOSPC); a 124 KB document does not fit.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from espace_sante.record.documents.models import Document

from .conftest import make_pdf

pytestmark = pytest.mark.django_db

FULL = (
    "Le service ne peut pas enregistrer de fichier pour le moment (espace de stockage plein). "
    "Rien n&#x27;a été enregistré : réessayez plus tard."
)
BIG_PDF = make_pdf(pages=1000)


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.mother.user)
    return client


def upload(client, **headers):
    return client.post(
        "/documents/ajouter/",
        {
            "file": SimpleUploadedFile("compte-rendu.pdf", BIG_PDF),
            "title": "Compte rendu du Dr Martin",
            "category": "ORD_SOIN",
            "document_date": "2026-10-02",
        },
        headers=headers,
    )


def test_the_upload_page_says_the_disk_is_full_and_keeps_what_was_typed(signed_in, full_disk):
    response = upload(signed_in)
    page = response.content.decode()
    assert response.status_code == 503
    assert FULL in page
    assert 'value="Compte rendu du Dr Martin"' in page
    assert 'value="2026-10-02"' in page
    assert Document.objects.count() == 0
    assert full_disk.files() == []


def test_the_upload_script_gets_the_message_in_json(signed_in, full_disk):
    response = upload(signed_in, Accept="application/json")
    assert response.status_code == 503
    assert response.json()["errors"] == [FULL.replace("&#x27;", "'")]
    assert Document.objects.count() == 0
    assert full_disk.files() == []


def test_a_body_spooled_to_a_full_disk_is_a_clear_503_not_a_500(personas, full_disk, settings):
    """Where no form can catch it (Django spools a large upload before the view runs)."""
    settings.FILE_UPLOAD_TEMP_DIR = str(full_disk.path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client(raise_request_exception=False)
    client.force_login(personas.mother.user)
    response = upload(client)
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert FULL in response.content.decode()
    assert Document.objects.count() == 0
