"""An oversized upload is refused from its announced size, before it is read or spooled."""

import pytest

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def post_announcing(client, path: str, size: int):
    # One byte is really sent: reading the announced body would fail the request,
    # so a 413 here proves nothing was read.
    return client.post(
        path,
        data=b"x",
        content_type="multipart/form-data; boundary=limite",
        CONTENT_LENGTH=str(size),
    )


def test_a_100_mb_document_is_refused_at_once_with_the_patients_limit(client, personas):
    client.force_login(personas.mother.user)
    response = post_announcing(client, "/documents/ajouter/", 100 * MB)
    assert response.status_code == 413
    assert response["Connection"] == "close"
    page = response.content.decode()
    # documents.md: a patient deposits files of 5 MB at most.
    assert "au plus 5 Mo" in page and "Rien n'a été enregistré" in page


def test_a_message_with_its_attachments_fits_but_100_mb_does_not(client, personas):
    client.force_login(personas.mother.user)
    assert post_announcing(client, "/messagerie/", 100 * MB).status_code == 413


def test_a_body_within_the_limit_reaches_the_page(client, personas):
    client.force_login(personas.mother.user)
    response = client.post("/documents/ajouter/", data={})
    # The form again, with its own messages (400: nothing was chosen).
    assert response.status_code == 400
    assert "<form" in response.content.decode()


def test_the_fhir_door_keeps_its_own_limit_and_outcome(client):
    response = client.post(
        "/fhir/R4/DocumentReference",
        data=b"{}",
        content_type="application/fhir+json",
        CONTENT_LENGTH=str(100 * MB),
    )
    assert response["Content-Type"].startswith("application/fhir+json")
