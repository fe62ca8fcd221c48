"""A parent reaches her child's space from her own, within the policy."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.access.policy import SYSTEM
from espace_sante.record.documents import services
from espace_sante.record.documents.models import Document

from .conftest import make_pdf

pytestmark = pytest.mark.django_db


def test_marie_opens_leos_documents_and_profile_from_her_home(client, personas):
    client.force_login(personas.mother.user)
    leo = personas.child
    home = client.get("/").content.decode()
    assert f"/documents/?espace={leo.id}" in home and f"/profil/{leo.id}/" in home
    services.add_document(
        SYSTEM,
        leo,
        SimpleUploadedFile("v.pdf", make_pdf()),
        services.NewDocument(
            title="Carnet de vaccination", type_code="11369-6", source=Document.Source.PROFESSIONAL
        ),
    )
    services.add_document(
        SYSTEM,
        leo,
        SimpleUploadedFile("c.pdf", make_pdf()),
        services.NewDocument(
            title="Consultation confidentielle",
            type_code="11488-4",
            source=Document.Source.PROFESSIONAL,
            invisible_representatives=True,
        ),
    )
    page = client.get(f"/documents/?espace={leo.id}").content.decode()
    assert "Documents de Léo DURAND" in page
    assert "Carnet de vaccination" in page and "Consultation confidentielle" not in page
    assert client.get(f"/profil/{leo.id}/").status_code == 200


def test_marie_adds_a_document_to_leos_space(client, personas):
    client.force_login(personas.mother.user)
    leo = personas.child
    response = client.post(
        f"/documents/ajouter/?espace={leo.id}",
        {
            "file": SimpleUploadedFile("r.pdf", make_pdf()),
            "title": "Radio du poignet",
            "category": "RADIO_SC",
            "espace": str(leo.id),
        },
    )
    assert response.status_code == 302
    assert Document.objects.get().patient == leo


def test_someone_else_cannot_open_leos_space(client, personas):
    client.force_login(personas.elder.user)
    assert client.get(f"/documents/?espace={personas.child.id}").status_code == 404
    assert client.get("/documents/?espace=pas-un-uuid").status_code == 404
