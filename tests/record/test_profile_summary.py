"""The printable summary: a real PDF of the whole profile, storable as a DOCPAT08 document."""

import io

import pytest
from pypdf import PdfReader

from espace_sante.access.policy import NotAllowed
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document
from espace_sante.record.profile import services

from .profile_support import actor

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def filled(personas):
    jean = personas.elder
    me = actor(jean)
    services.add_entry(
        me, jean, "conditions", {"name": "Diabète de type 2", "start_date": "2012-03-01"}
    )
    services.add_entry(
        me, jean, "treatments", {"name": "Metformine 1000 mg", "dosage": "matin et soir"}
    )
    services.add_entry(me, jean, "allergies", {"substance": "Iode", "severity": "moderee"})
    services.add_entry(
        me, jean, "contacts", {"kind": "confiance", "name": "Anne PETIT", "relation": "Fille"}
    )
    services.set_blood_group(me, jean, "B+")
    services.set_organ_donation(me, jean, "accepte")
    services.add_measure(me, jean, "4548-4", {"value": "6,9", "date": "2025-09-01"})
    return jean


def test_the_summary_is_a_pdf_with_the_patient_and_every_section(filled):
    content = services.summary_pdf(actor(filled), filled)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (
        "Synthèse de mon profil médical",
        "PETIT",
        "Jean Pierre André",
        "8 février 1954",
        "Document édité le",
        "Diabète de type 2",
        "Metformine 1000 mg",
        "Iode",
        "B+",
        "Anne PETIT",
        "Hémoglobine glyquée (HbA1c)",
        "6,9 %",
        "J'accepte de donner mes organes",
        "Directives anticipées",
    ):
        assert expected in text, expected


def test_the_summary_is_downloaded_from_the_profile_page_and_not_cached(client, filled):
    client.force_login(filled.user)
    response = client.get(f"/profil/{filled.id}/synthese.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="synthese-profil')
    assert "no-store" in response["Cache-Control"]
    assert "Jean PETIT" in pdf_text(response.content)


def test_saving_the_summary_creates_a_docpat08_document(client, filled):
    client.force_login(filled.user)
    response = client.post(f"/profil/{filled.id}/synthese/enregistrer/")
    document = Document.objects.get(patient=filled)
    assert response.status_code == 302
    assert response["Location"] == f"/documents/{document.id}/"
    assert document.type_code == "DOCPAT08"
    assert document.source == Document.Source.PATIENT
    assert document.mime_type == "application/pdf"
    assert documents.document_title(document).startswith("Synthèse de mon profil médical du ")
    content = documents.read_content(document)
    assert content.startswith(b"%PDF") and "Diabète de type 2" in pdf_text(content)
    assert client.get(f"/profil/{filled.id}/synthese/enregistrer/").status_code == 405


def test_nobody_else_gets_the_summary(personas, filled):
    for who in (personas.mother, personas.gp, None):
        with pytest.raises(NotAllowed):
            services.save_summary_to_documents(actor(who) if who else None, filled)
    assert not Document.objects.filter(patient=filled).exists()


def test_advance_directives_deposited_as_documents_show_on_the_profile(client, filled):
    from espace_sante.record.documents.services import NewDocument

    from .conftest import make_pdf

    documents.add_document(
        actor(filled),
        filled,
        io.BytesIO(make_pdf("Mes directives")),
        NewDocument(title="Mes directives anticipées", type_code="EXPPAT_3", source="patient"),
    )
    client.force_login(filled.user)
    page = client.get(f"/profil/{filled.id}/entourage/").content.decode()
    assert "Mes directives anticipées" in page
    assert (
        "Directives anticipées déposées dans vos documents"
        in client.get(f"/profil/{filled.id}/").content.decode()
    )
    assert "1 document dans l'espace santé" in pdf_text(services.summary_pdf(actor(filled), filled))
