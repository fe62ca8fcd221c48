"""The professional portal: the story of issue 4, through the web door."""

import pyotp
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from espace_sante.access import services as access
from espace_sante.access.consent_models import Consent, EmergencyAccess
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import actor_for_user
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from tests.record.conftest import make_pdf

pytestmark = pytest.mark.django_db


def signed_in_professional(professional, personas) -> Client:
    client = Client()
    client.post(
        "/comptes/login/", {"login": professional.user.email, "password": personas.password}
    )
    response = client.post(
        "/comptes/2fa/authenticate/", {"code": pyotp.TOTP(personas.totp_secret).now()}
    )
    assert response.status_code == 302, "connexion TOTP refusée"
    return client


def find(client, person, **overrides):
    data = {
        "matricule": person.ins_matricule,
        "birth_date": person.birth_date.isoformat(),
        "birth_name": person.birth_name.lower(),
    }
    data.update(overrides)
    return client.post("/pro/", data)


@pytest.fixture
def marie_documents(personas):
    """A lab result (visible) and a masked psychiatric-free consultation report."""
    lab = record.add_document(
        actor_for_user(personas.mother.user),
        personas.mother,
        SimpleUploadedFile("bilan.pdf", make_pdf()),
        record.NewDocument(title="Bilan sanguin", type_code="DOCPAT05", source="patient"),
    )
    masked = record.add_document(
        actor_for_user(personas.mother.user),
        personas.mother,
        SimpleUploadedFile("cr.pdf", make_pdf()),
        record.NewDocument(
            title="Compte rendu confidentiel", type_code="DOCPAT03", source="patient"
        ),
    )
    record.set_masked(actor_for_user(personas.mother.user), masked, True)
    return lab, masked


def test_a_patient_is_found_by_ins_and_traits_and_mismatches_are_explained(personas):
    client = signed_in_professional(personas.hospital_doctor, personas)
    response = find(client, personas.mother)
    assert response.status_code == 302
    assert response["Location"] == f"/pro/patients/{personas.mother.id}/"
    wrong = find(client, personas.mother, birth_date="1988-03-15")
    assert "ne correspondent pas" in wrong.content.decode()
    bad_key = find(client, personas.mother, matricule="288033155512399")
    assert "clé" in bad_key.content.decode()


def test_a_uuid_alone_names_nobody_to_a_professional_without_a_reason(personas):
    """Identity only after a traits search or with a reason, and every sight of it traced."""
    client = signed_in_professional(personas.hospital_doctor, personas)
    for person in (personas.child, personas.elder):  # a 6-year-old, a man he never saw
        response = client.get(f"/pro/patients/{person.id}/")
        assert response.status_code == 404
        assert person.birth_name not in response.content.decode()
        assert AuditEntry.objects.filter(
            patient_id=person.id,
            action="identity",
            outcome="denied",
            actor_professional_id=personas.hospital_doctor.id,
        ).exists()

    find(client, personas.elder)
    page = client.get(f"/pro/patients/{personas.elder.id}/").content.decode()
    assert "PETIT" in page and "pas accès aux documents" in page
    seen = AuditEntry.objects.filter(
        patient_id=personas.elder.id,
        actor_professional_id=personas.hospital_doctor.id,
        outcome="allowed",
    )
    assert set(seen.values_list("action", flat=True)) == {"lookup", "identity"}


def test_a_uuid_alone_opens_no_consent_emergency_or_deposit(personas):
    """Knowing a patient's UUID is not finding them: no relation can be opened with it."""
    client = signed_in_professional(personas.hospital_doctor, personas)
    base = f"/pro/patients/{personas.elder.id}/"
    assert client.post(base + "consentement/").status_code == 404
    assert client.post(base + "equipe-de-soins/").status_code == 404
    assert client.post(base + "urgence/", {"justification": "Urgence vitale"}).status_code == 404
    deposit = {"file": SimpleUploadedFile("cr.pdf", make_pdf()), "type_code": "11488-4"}
    assert client.post(base + "deposer/", {**deposit, "title": "CR"}).status_code == 404
    elder = personas.elder
    assert not Consent.objects.filter(patient=elder).exists()
    assert not EmergencyAccess.objects.filter(patient=elder).exists()
    assert not Document.objects.filter(patient=elder).exists()
    assert (
        AuditEntry.objects.filter(patient_id=elder.id, action="identity", outcome="denied").count()
        == 4
    )


def test_the_medecin_traitant_sees_the_masked_document(personas, marie_documents):
    client = signed_in_professional(personas.gp, personas)
    text = client.get(f"/pro/patients/{personas.mother.id}/").content.decode()
    assert "Bilan sanguin" in text and "Compte rendu confidentiel" in text
    assert "médecin traitant" in text


def test_a_doctor_without_consent_sees_nothing_then_the_unmasked_ones_after_consent(
    personas, marie_documents
):
    lab, masked = marie_documents
    client = signed_in_professional(personas.hospital_doctor, personas)
    find(client, personas.mother)  # her INS and traits, read from her card
    page = client.get(f"/pro/patients/{personas.mother.id}/").content.decode()
    assert "Bilan sanguin" not in page
    assert "pas accès aux documents" in page
    assert client.get(f"/pro/documents/{lab.id}/").status_code == 404

    client.post(f"/pro/patients/{personas.mother.id}/consentement/")
    page = client.get(f"/pro/patients/{personas.mother.id}/").content.decode()
    assert "Bilan sanguin" in page and "Compte rendu confidentiel" not in page
    opened = client.get(f"/pro/documents/{lab.id}/")
    assert opened.status_code == 200
    assert client.get(f"/pro/documents/{masked.id}/").status_code == 404
    reads = AuditEntry.objects.filter(
        patient_id=personas.mother.id, actor_kind="professional", action="read", outcome="allowed"
    )
    assert reads.get().mode == "consent"


def test_a_blocked_doctor_can_deposit_but_not_read(personas, marie_documents):
    doctor = personas.hospital_doctor
    client = signed_in_professional(doctor, personas)
    find(client, personas.mother)
    client.post(f"/pro/patients/{personas.mother.id}/consentement/")
    access.block_professional(actor_for_user(personas.mother.user), personas.mother, doctor)
    page = client.get(f"/pro/patients/{personas.mother.id}/").content.decode()
    assert "Bilan sanguin" not in page
    assert "bloqu" not in page.lower()  # a block is never revealed
    response = client.post(
        f"/pro/patients/{personas.mother.id}/deposer/",
        {
            "file": SimpleUploadedFile("cr.pdf", make_pdf()),
            "type_code": "11488-4",
            "title": "CR de consultation de cardiologie",
        },
    )
    assert response.status_code == 302
    deposited = Document.objects.get(type_code="11488-4")
    assert deposited.author_professional == doctor
    assert deposited.author_organization.finess == "310004569"
    refused = client.post(f"/pro/patients/{personas.mother.id}/consentement/", follow=True)
    assert "ne peut pas être enregistré" in refused.content.decode()


def test_a_professional_withdraws_only_their_own_document(personas, marie_documents):
    lab, _ = marie_documents
    client = signed_in_professional(personas.gp, personas)
    assert client.post(f"/pro/documents/{lab.id}/retirer/").status_code == 404
    client.post(
        f"/pro/patients/{personas.mother.id}/deposer/",
        {
            "file": SimpleUploadedFile("o.pdf", make_pdf()),
            "type_code": "57833-6",
            "title": "Ordonnance",
        },
    )
    mine = Document.objects.get(type_code="57833-6")
    assert client.post(f"/pro/documents/{mine.id}/retirer/").status_code == 302
    mine.refresh_from_db()
    assert mine.status == Document.Status.WITHDRAWN


def test_bris_de_glace_needs_a_justification_and_shows_in_the_audit(personas, marie_documents):
    client = signed_in_professional(personas.hospital_doctor, personas)
    find(client, personas.mother)
    short = client.post(
        f"/pro/patients/{personas.mother.id}/urgence/", {"justification": "vite"}, follow=True
    )
    assert "10 caractères" in short.content.decode()
    response = client.post(
        f"/pro/patients/{personas.mother.id}/urgence/",
        {"justification": "Patiente inconsciente aux urgences, allergies à vérifier"},
        follow=True,
    )
    text = response.content.decode()
    assert "urgence ouvert jusqu" in text
    assert "Bilan sanguin" in text and "Compte rendu confidentiel" not in text
    entry = AuditEntry.objects.get(patient_id=personas.mother.id, action="emergency")
    assert entry.reason.startswith("emergency_btg") and "inconsciente" in entry.reason


def test_citizens_never_reach_the_portal(client, personas):
    client.force_login(personas.mother.user)
    assert client.get("/pro/").status_code == 404
    assert client.get(f"/pro/patients/{personas.mother.id}/").status_code == 404


def test_a_professional_replaces_their_own_document_with_a_new_version(personas):
    client = signed_in_professional(personas.gp, personas)
    client.post(
        f"/pro/patients/{personas.mother.id}/deposer/",
        {
            "file": SimpleUploadedFile("o.pdf", make_pdf()),
            "type_code": "57833-6",
            "title": "Ordonnance",
        },
    )
    first = Document.objects.get(type_code="57833-6")
    page = client.get(f"/pro/patients/{personas.mother.id}/").content.decode()
    assert "Nouvelle version de" in page
    client.post(
        f"/pro/patients/{personas.mother.id}/deposer/",
        {
            "file": SimpleUploadedFile("o2.pdf", make_pdf()),
            "type_code": "57833-6",
            "title": "Ordonnance corrigée",
            "replaces": str(first.id),
        },
    )
    first.refresh_from_db()
    assert first.status == Document.Status.SUPERSEDED
    assert Document.objects.get(replaces=first).status == Document.Status.CURRENT
    other = signed_in_professional(personas.hospital_doctor, personas)
    forged = other.post(
        f"/pro/patients/{personas.mother.id}/deposer/",
        {
            "file": SimpleUploadedFile("x.pdf", make_pdf()),
            "type_code": "57833-6",
            "title": "Pas à moi",
            "replaces": str(first.id),
        },
    )
    assert forged.status_code == 404
