"""Prescriptions sent to a pharmacy, through the services; and how the history tells it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.access import history
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import NotAllowed, actor_for_user
from espace_sante.identity import services as identity
from espace_sante.messaging import services as messaging
from espace_sante.messaging.services import MessagingRefused
from espace_sante.pharmacy import services as pharmacy
from espace_sante.pharmacy.models import PrescriptionOrder

from .conftest import pdf_upload, pro_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(personas, marie, carmes, photo_bytes):
    return pharmacy.send_prescription(
        marie,
        personas.mother,
        carmes,
        photo=SimpleUploadedFile("ordonnance.jpg", photo_bytes),
        note="Je passe demain matin.",
    )


def test_search_by_name_town_or_postal_code(personas, carmes):
    assert pharmacy.search_pharmacies("carmes") == [carmes]
    assert pharmacy.search_pharmacies("Toulouse") == [carmes]
    assert pharmacy.search_pharmacies("31000") == [carmes]
    assert pharmacy.search_pharmacies("Pharmacie Nantes") == []
    assert pharmacy.search_pharmacies("Cabinet") == []  # only pharmacies
    assert pharmacy.search_pharmacies("") == []


def test_a_patient_may_start_only_to_a_pharmacy(personas, marie, carmes):
    conversation = pharmacy.start_prescription_conversation(
        marie,
        personas.mother,
        carmes,
        subject="Ordonnance",
        body="Bonjour",
        attachments=[pdf_upload("ordonnance.pdf")],
    )
    assert conversation.started_by_patient and conversation.organization == carmes
    cabinet = personas.gp.roles.first().organization
    with pytest.raises(MessagingRefused) as refused:
        pharmacy.start_prescription_conversation(
            marie,
            personas.mother,
            cabinet,
            subject="Ordonnance",
            body="Bonjour",
            attachments=[pdf_upload()],
        )
    assert "qu'à une pharmacie" in refused.value.messages[0]


def test_the_prescription_reaches_the_pharmacy_inbox(personas, marie, pharmacist, order):
    assert order.status == PrescriptionOrder.Status.RECEIVED
    assert pharmacy.pharmacies_used(marie, personas.mother) == [order.pharmacy]
    [item] = pharmacy.pharmacy_inbox(pharmacist)
    assert item.order == order and item.unread == 1
    page = messaging.read_conversation(pharmacist, order.conversation)
    assert page.messages[0].body == "Je passe demain matin."
    assert page.messages[0].attachments[0].filename == "ordonnance.jpg"
    assert pharmacy.pharmacy_inbox(pharmacist)[0].unread == 0
    assert messaging.professional_inbox(pharmacist, kind="prescription")[0].patient == (
        personas.mother
    )


# The worker closes database connections: only real commits survive it.
@pytest.mark.django_db(transaction=True)
def test_statuses_move_forward_and_each_change_is_a_message(
    personas, marie, pharmacist, order, smtp_server
):
    for status in ("preparing", "ready", "dispensed"):
        pharmacy.set_status(pharmacist, order, status)
        order.refresh_from_db()
        assert order.status == status
    with pytest.raises(MessagingRefused) as refused:
        pharmacy.set_status(pharmacist, order, "ready")
    assert "déjà « délivrée »" in refused.value.messages[0]
    page = messaging.read_conversation(marie, order.conversation)
    assert [m.author for m in page.messages[1:]] == ["Pharmacie des Carmes (Sophie Lefèvre)"] * 3
    assert "venir la retirer" in page.messages[2].body
    from .conftest import run_worker

    run_worker()
    emails = smtp_server.to(personas.mother.user.email)
    assert len(emails) == 3
    assert all("Pharmacie des Carmes" in smtp_server.body(e) for e in emails)


def test_only_the_chosen_pharmacy_handles_the_prescription(personas, order):
    other = identity.create_organization(
        finess="310009998",
        kind="pharmacy",
        name="Pharmacie du Capitole",
        postal_code="31000",
        city="Toulouse",
    )
    identity.add_role(personas.hospital_doctor, other, "Remplaçant")
    stranger = actor_for_user(personas.hospital_doctor.user, organization_id=other.id)
    with pytest.raises(NotAllowed):
        pharmacy.set_status(stranger, order, "ready")
    with pytest.raises(NotAllowed):
        messaging.access_conversation(stranger, order.conversation_id)
    assert pharmacy.pharmacy_inbox(stranger) == []
    # Dr Martin, not of the pharmacy, cannot change anything either.
    with pytest.raises(NotAllowed):
        pharmacy.set_status(pro_actor(personas.gp), order, "ready")


def test_a_prescription_needs_a_file_and_a_pharmacy(personas, marie, carmes):
    with pytest.raises(MessagingRefused):
        pharmacy.send_prescription(marie, personas.mother, carmes)
    cabinet = personas.gp.roles.first().organization
    with pytest.raises(MessagingRefused):
        pharmacy.start_prescription_conversation(
            marie, personas.mother, cabinet, subject="x", body="y", attachments=[]
        )
    assert PrescriptionOrder.objects.count() == 0


def test_the_history_tells_messaging_in_plain_french(personas, marie, pharmacist, order):
    messaging.read_conversation(pharmacist, order.conversation)
    rows = list(AuditEntry.objects.filter(patient_id=personas.mother.id).order_by("sequence"))
    sentences = [item.sentence for item in history.describe(marie, personas.mother.id, rows)]
    assert any(s.startswith("Vous avez commencé une conversation") for s in sentences)
    assert any(
        "Sophie Lefèvre" in s and "lu une conversation de votre messagerie" in s for s in sentences
    )


def test_the_demo_tells_a_few_conversations_once(personas):
    from espace_sante.demo.messaging import load_messaging_demo
    from espace_sante.demo.people import load_demo

    load_demo(with_documents=False, with_profile=False)
    from espace_sante.identity.models import Organization, Professional

    people = {"marie": personas.mother}
    pros = {p.rpps: p for p in Professional.objects.all()}
    orgs = {o.finess: o for o in Organization.objects.all()}
    assert load_messaging_demo(people, pros, orgs) == 4
    assert load_messaging_demo(people, pros, orgs) == 0  # idempotent
    marie = actor_for_user(personas.mother.user)
    items = messaging.inbox(marie, personas.mother)
    assert [item.subject for item in items] == [
        "Ordonnance",
        "Votre rendez-vous de cardiologie",
        "Résultats de votre bilan sanguin",
        "Rappel : vaccination contre la grippe",
    ]
    # The doctor's answer, the appointment, the pharmacy's « prête »: not read yet.
    assert messaging.unread_for_patient(personas.mother.id) == 3
    assert PrescriptionOrder.objects.get().status == "ready"
