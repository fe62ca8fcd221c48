"""The upload form's one-time token: a form sent twice adds one document (issue 12, item 9)."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from espace_sante.record.documents.models import DepositKey, Document
from tests.personas import make_person

from .conftest import make_pdf

pytestmark = pytest.mark.django_db
PDF = make_pdf()


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.mother.user)
    return client


def token_of(page: str) -> str:
    match = re.search(r'<input type="hidden" name="once" value="([^"]+)"', page)
    assert match, "pas de jeton dans le formulaire"
    return match.group(1)


def send(client, once, title="Ordonnance du Dr Martin", content=PDF, **headers):
    return client.post(
        "/documents/ajouter/",
        {
            "file": SimpleUploadedFile("ordonnance.pdf", content),
            "title": title,
            "category": "ORD_SOIN",
            "document_date": "2026-10-02",
            "once": once,
        },
        headers=headers,
    )


def test_each_page_shown_carries_a_new_token(signed_in):
    first = token_of(signed_in.get("/documents/ajouter/").content.decode())
    second = token_of(signed_in.get("/documents/ajouter/").content.decode())
    assert first != second and len(first) >= 16


def test_the_same_form_sent_twice_adds_one_document_and_leads_to_it(signed_in, blob_dir):
    once = token_of(signed_in.get("/documents/ajouter/").content.decode())
    first = send(signed_in, once)
    again = send(signed_in, once)  # a double click, or a retry after a lost connection
    document = Document.objects.get()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/documents/{document.id}/"
    assert len([p for p in blob_dir.rglob("*") if p.is_file()]) == 1
    # The upload script (JSON) too.
    script = send(signed_in, once, Accept="application/json")
    assert script.status_code == 201 and script.json()["redirect"] == first["Location"]
    assert Document.objects.count() == 1


def test_without_the_token_the_same_form_adds_two(signed_in, blob_dir):
    """What the token prevents."""
    send(signed_in, "")
    send(signed_in, "")
    assert Document.objects.count() == 2


def test_the_token_sent_again_with_another_file_is_refused_and_renewed(signed_in, blob_dir):
    once = token_of(signed_in.get("/documents/ajouter/").content.decode())
    send(signed_in, once)
    response = send(signed_in, once, title="Radio du genou", content=make_pdf("Radio"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Ce formulaire a déjà servi à ajouter un document" in page
    assert 'value="Radio du genou"' in page
    renewed = token_of(page)
    assert renewed != once
    assert (
        send(signed_in, renewed, title="Radio du genou", content=make_pdf("Radio")).status_code
        == 302
    )
    assert Document.objects.count() == 2
    # The upload script receives the new token in its answer.
    script = send(signed_in, once, title="Autre", Accept="application/json")
    assert script.status_code == 400 and len(script.json()["once"]) >= 16


def test_a_refused_upload_keeps_no_token(signed_in, blob_dir):
    once = token_of(signed_in.get("/documents/ajouter/").content.decode())
    assert send(signed_in, once, content=b"MZ\x90\x00binaire").status_code == 400
    assert DepositKey.objects.count() == 0
    assert send(signed_in, once).status_code == 302


def test_another_persons_token_is_theirs(client, signed_in, personas, blob_dir):
    once = token_of(signed_in.get("/documents/ajouter/").content.decode())
    send(signed_in, once)
    # The same token from another account (their own space): a deposit of their own.
    other = make_person()
    client.force_login(other.user)
    assert send(client, once).status_code == 302
    assert Document.objects.count() == 2


def test_the_purge_deletes_only_expired_keys(signed_in, blob_dir, settings):
    for _ in range(2):
        send(signed_in, token_of(signed_in.get("/documents/ajouter/").content.decode()))
    old = DepositKey.objects.order_by("created_at").first()
    DepositKey.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.RECORD_IDEMPOTENCY_HOURS, seconds=1)
    )
    out = io.StringIO()
    call_command("purge_deposit_keys", stdout=out)
    assert "1 clé(s)" in out.getvalue()
    assert list(DepositKey.objects.values_list("pk", flat=True)) != [old.pk]
    assert DepositKey.objects.count() == 1
    assert Document.objects.count() == 2  # the documents stay


def test_a_refused_deposit_with_a_key_stays_in_the_trail(personas, blob_dir):
    """The right to deposit is decided outside the key's transaction: its refusal is kept."""
    from espace_sante.access.models import AuditEntry
    from espace_sante.access.policy import NotAllowed
    from espace_sante.record.documents import services
    from tests.personas import make_stranger, patient_actor

    stranger, mother = make_stranger(), personas.mother
    denied = AuditEntry.objects.filter(patient_id=mother.id, outcome="denied")
    before = denied.count()
    key = services.Idempotency(sender="user:0", key="k" * 20, fingerprint="f")

    def deposit():
        raise AssertionError("never reached: refused before")

    with pytest.raises(NotAllowed):
        services.deposit_once(patient_actor(stranger), mother, key, deposit)
    assert denied.count() == before + 1
    assert DepositKey.objects.count() == 0
