"""Closing from Paramètres, deletion by crypto-shredding, and reopening."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from espace_sante.access.policy import actor_for_user
from espace_sante.crypto.models import PatientKeys
from espace_sante.enrollment import services
from espace_sante.enrollment.models import Beneficiary, Closure
from espace_sante.identity.models import SpaceState
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from tests.record.conftest import make_pdf

from .conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marie(personas, campaign):
    """Marie's space is activated and holds one document; she is a beneficiary of the campaign."""
    mother = personas.mother
    Beneficiary.objects.create(
        campaign=campaign, person=mother, card_serial="123456789", channel="email"
    )
    record.add_document(
        actor_for_user(mother.user),
        mother,
        SimpleUploadedFile("b.pdf", make_pdf()),
        record.NewDocument(title="Bilan sanguin", type_code="DOCPAT05", source="patient"),
    )
    return mother


def sign_in(client, user):
    client.force_login(user)


def close_through_the_pages(client, smtp_server, mode="archive"):
    page = client.get("/parametres/fermeture/").content.decode()
    assert "conservés, chiffrés, pendant 10 ans" in page
    response = client.post("/parametres/fermeture/", {"mode": mode, "understood": "on"})
    assert response["Location"] == "/parametres/fermeture/confirmer/"
    body = smtp_server.body(smtp_server.messages[-1])
    code = re.search(r"\b(\d{6})\b", body).group(1)
    wrong = client.post("/parametres/fermeture/confirmer/", {"code": "000000"})
    assert "Code incorrect" in wrong.content.decode()
    return client.post("/parametres/fermeture/confirmer/", {"code": code})


def test_closing_keeps_the_data_and_reopening_brings_them_back(client, marie, smtp_server):
    sign_in(client, marie.user)
    response = close_through_the_pages(client, smtp_server)
    assert response["Location"] == "/espace-ferme/"
    marie.refresh_from_db()
    assert marie.space_state == SpaceState.CLOSED
    assert not marie.user.is_active
    closure = Closure.objects.get(patient=marie)
    assert closure.purge_after > timezone.now() + timedelta(days=3650)
    # Signed out, and signing in again is refused with an explanation.
    assert client.get("/").status_code == 302
    page = client.post(
        "/comptes/login/",
        {"login": marie.user.email, "password": "Demo-espace-sante-2026"},
        follow=True,
    ).content.decode()
    assert "Cet espace santé est fermé" in page
    # The purge task is scheduled for the end of the archive period, and does nothing before.
    from django_tasks_db.models import DBTaskResult

    later = DBTaskResult.objects.get(task_path__endswith="purge_closed_spaces")
    assert later.run_after > timezone.now() + timedelta(days=3650)
    assert services.purge_closed_spaces() == 0
    run_worker()
    assert "est fermé" in smtp_server.body(smtp_server.wait_for(marie.email, count=2))

    code = services.issue_code(marie, 42)
    check = services.check_code(marie.ins_matricule, "123456789", code)
    services.activate(check, email=marie.user.email, password="Un-autre-mot-de-passe-26")
    marie.refresh_from_db()
    assert marie.space_state == SpaceState.ACTIVATED and marie.user.is_active
    assert Document.objects.filter(patient=marie).count() == 1
    assert [t.event for t in services.history(marie)][-2:] == ["closed", "reopened"]


def test_deletion_shreds_the_keys_purges_the_data_and_tells_the_person(
    client, marie, smtp_server, private_keys_and_blobs
):
    blob_files = lambda: [p for p in private_keys_and_blobs.rglob("*") if p.is_file()]  # noqa: E731
    assert blob_files()
    sign_in(client, marie.user)
    close_through_the_pages(client, smtp_server, mode="delete")
    run_worker()  # the purge task enqueued by the closing
    assert PatientKeys.objects.get(pk=marie.pk).destroyed_at is not None
    assert not Document.objects.filter(patient=marie).exists()
    assert blob_files() == []
    assert any("supprimées définitivement" in smtp_server.body(m) for m in smtp_server.messages)
    marie.refresh_from_db()
    assert marie.email == "" and marie.space_state == SpaceState.CLOSED
    assert [t.event for t in services.history(marie)][-2:] == ["closed", "deleted"]
    assert services.purge_closed_spaces() == 0  # idempotent

    # Reopening after the deletion: an empty space with new keys, documents welcome again.
    code = services.issue_code(marie, 42)
    check = services.check_code(marie.ins_matricule, "123456789", code)
    services.activate(check, email="marie.nouvelle@exemple.test", password="Un-mot-de-passe-2026")
    marie.refresh_from_db()
    assert marie.space_state == SpaceState.ACTIVATED
    assert PatientKeys.objects.get(pk=marie.pk).destroyed_at is None
    record.add_document(
        actor_for_user(marie.user),
        marie,
        SimpleUploadedFile("c.pdf", make_pdf()),
        record.NewDocument(title="Nouveau", type_code="DOCPAT05", source="patient"),
    )
    assert Document.objects.filter(patient=marie).count() == 1


def test_someone_without_an_open_space_cannot_reach_the_closing_pages(client, db):
    from espace_sante.identity.models import User

    sign_in(client, User.objects.create_user("sans-espace@exemple.test", "x", kind="citizen"))
    assert client.get("/parametres/fermeture/").status_code == 404
    assert client.get("/parametres/fermeture/confirmer/").status_code == 404
