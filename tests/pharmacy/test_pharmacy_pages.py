"""Prescriptions sent to a pharmacy through the web door: the patient's page, the pharmacy's
list, and the pharmacy's part of the conversation pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.messaging import services as messaging
from espace_sante.messaging.models import Attachment
from espace_sante.pharmacy.models import PrescriptionOrder
from tests.portal.test_portal import signed_in_professional

from .conftest import make_pdf, pro_actor, run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def marie_client(client, personas):
    client.force_login(personas.mother.user)
    return client


def test_a_care_conversation_has_no_pharmacy_part(personas, conversation):
    client = signed_in_professional(personas.gp, personas)
    mailbox = client.get("/pro/messagerie/").content.decode()
    assert "Ordonnances reçues" not in mailbox  # not a pharmacy
    page = client.get(f"/pro/messagerie/{conversation.id}/").content.decode()
    assert 'href="/pro/messagerie/">Messagerie</a>' in page
    assert "prescription-status" not in page
    client.force_login(personas.mother.user)
    assert 'fr-badge--info">Ordonnance</p>' not in client.get("/messagerie/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_patient_sends_a_photo_to_the_pharmacy_which_marks_it_ready(
    marie_client, personas, carmes, photo_bytes, smtp_server
):
    page = marie_client.get("/messagerie/ordonnance/?q=carmes").content.decode()
    assert "Pharmacie des Carmes" in page
    assert (
        "Pharmacie des Carmes"
        in marie_client.get("/messagerie/ordonnance/?q=toulouse").content.decode()
    )
    assert (
        "Aucune pharmacie" in marie_client.get("/messagerie/ordonnance/?q=Brest").content.decode()
    )
    response = marie_client.post(
        f"/messagerie/ordonnance/?pharmacie={carmes.id}",
        {
            "pharmacie": str(carmes.id),
            "source": "photo",
            "photo": SimpleUploadedFile("ordonnance.jpg", photo_bytes),
            "note": "Je passe ce soir.",
        },
    )
    order = PrescriptionOrder.objects.get()
    assert response["Location"] == f"/messagerie/{order.conversation_id}/"
    assert order.status == "received" and order.pharmacy == carmes
    # Messaging shows the pharmacy's status on the conversation (messaging.extensions).
    page = marie_client.get(f"/messagerie/{order.conversation_id}/").content.decode()
    assert 'data-testid="prescription-status">Ordonnance : Reçue</p>' in page
    inbox = marie_client.get("/messagerie/").content.decode()
    assert 'fr-badge--info">Ordonnance</p>' in inbox
    # Used before: offered first next time.
    assert "utilisées au cours de l" in marie_client.get("/messagerie/ordonnance/").content.decode()

    client = signed_in_professional(personas.pharmacist, personas)
    inbox = client.get("/pro/pharmacie/").content.decode()
    assert "Marie DURAND" in inbox and "Reçue" in inbox
    mailbox = client.get("/pro/messagerie/").content.decode()
    assert 'href="/pro/pharmacie/">Ordonnances reçues</a>' in mailbox
    page = client.get(f"/pro/messagerie/{order.conversation_id}/").content.decode()
    assert 'href="/pro/pharmacie/">Ordonnances reçues</a>' in page  # the way back
    assert 'data-testid="prescription-status">Statut : Reçue</p>' in page
    assert f'action="/pro/pharmacie/{order.id}/statut/"' in page
    response = client.post(f"/pro/pharmacie/{order.id}/statut/", {"status": "ready"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "ready"
    run_worker()
    [email] = smtp_server.to(personas.mother.user.email)
    assert "Pharmacie des Carmes" in smtp_server.body(email)
    assert "ordonnance" not in smtp_server.body(email).lower()
    page = marie_client.get(f"/messagerie/{order.conversation_id}/").content.decode()
    assert "Prête à être retirée" in page and "vous pouvez venir la retirer" in page
    # Backwards is refused.
    response = client.post(
        f"/pro/pharmacie/{order.id}/statut/", {"status": "preparing"}, follow=True
    )
    assert "déjà" in response.content.decode()


def test_a_patient_sends_a_document_of_her_space(marie_client, personas, carmes, marie):
    from espace_sante.record.documents import services as record

    document = record.add_document(
        marie,
        personas.mother,
        SimpleUploadedFile("o.pdf", make_pdf()),
        record.NewDocument(title="Ordonnance Dr Martin", type_code="DOCPAT02", source="patient"),
    )
    detail = marie_client.get(f"/documents/{document.id}/").content.decode()
    assert f'href="/messagerie/ordonnance/?document={document.id}"' in detail
    chooser = marie_client.get(f"/messagerie/ordonnance/?document={document.id}&q=carmes")
    assert f"?pharmacie={carmes.id}&amp;document={document.id}" in chooser.content.decode()
    form = marie_client.get(
        f"/messagerie/ordonnance/?pharmacie={carmes.id}&document={document.id}"
    ).content.decode()
    assert f'<option value="{document.id}" selected>Ordonnance Dr Martin' in form
    marie_client.post(
        f"/messagerie/ordonnance/?pharmacie={carmes.id}",
        {"pharmacie": str(carmes.id), "source": "document", "document": str(document.id)},
    )
    order = PrescriptionOrder.objects.get()
    attachment = Attachment.objects.get()
    found, name = messaging.access_attachment(pro_actor(personas.pharmacist), attachment.id)
    assert name == "Ordonnance Dr Martin.pdf"
    assert b"".join(messaging.iter_attachment(found)) == make_pdf()
    assert order.conversation.kind == "prescription"


def test_the_professional_pages_ask_for_the_organisation_first(personas):
    from espace_sante.identity import services as identity

    # A second organisation: none is chosen for the pharmacist any more.
    other = identity.create_organization(finess="310009998", kind="pharmacy", name="Pharmacie 2")
    identity.add_role(personas.pharmacist, other, "Remplaçante")
    client = signed_in_professional(personas.pharmacist, personas)
    for url in (
        "/pro/pharmacie/",
        "/pro/messagerie/",
        f"/pro/messagerie/ecrire/{personas.mother.id}/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/pro/compte/", url
    page = client.get("/pro/pharmacie/", follow=True).content.decode()
    assert "Choisissez d&#x27;abord la structure pour laquelle vous exercez." in page
