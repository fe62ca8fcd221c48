"""Idempotency-Key on FHIR pushes (draft-ietf-httpapi-idempotency-key-header; issue 12, item 9).

A client that lost the answer sends the same request again with the same key:
the first document comes back, nothing is deposited twice.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import DepositKey, Document

from .conftest import assert_outcome, document_reference


def key_header() -> dict:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


def without_master_identifier(person) -> dict:
    """A push the producer id cannot deduplicate: only the key can."""
    resource = document_reference(person)
    del resource["masterIdentifier"]
    return resource


def test_the_same_key_and_body_return_the_first_document(gp_software, personas):
    resource, headers = without_master_identifier(personas.mother), key_header()
    first = gp_software.post("DocumentReference", resource, headers=headers)
    again = gp_software.post("DocumentReference", resource, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert Document.objects.count() == 1
    # The key spelt without the quotes of a structured field is the same key.
    bare = {"Idempotency-Key": headers["Idempotency-Key"].strip('"')}
    assert (
        gp_software.post("DocumentReference", resource, headers=bare).json()["id"]
        == (first.json()["id"])
    )
    assert Document.objects.count() == 1


def test_without_a_key_the_same_body_is_deposited_twice(gp_software, personas):
    """What the key prevents (a push without masterIdentifier is a new document each time)."""
    resource = without_master_identifier(personas.mother)
    gp_software.post("DocumentReference", resource)
    gp_software.post("DocumentReference", resource)
    assert Document.objects.count() == 2


def test_the_same_key_with_another_body_is_refused(gp_software, personas):
    headers = key_header()
    resource = without_master_identifier(personas.mother)
    assert gp_software.post("DocumentReference", resource, headers=headers).status_code == 201
    resource["description"] = "Un autre compte rendu"
    refused = gp_software.post("DocumentReference", resource, headers=headers)
    body = assert_outcome(refused, 422, "clé d'idempotence a déjà servi")
    assert body["issue"][0]["code"] == "business-rule"
    # Nor for another patient.
    other = gp_software.post(
        "DocumentReference", without_master_identifier(personas.elder), headers=headers
    )
    assert_outcome(other, 422, "clé d'idempotence a déjà servi")
    assert Document.objects.count() == 1


def test_a_key_is_the_clients_own(gp_software, hospital_software, personas):
    headers = key_header()
    resource = without_master_identifier(personas.mother)
    first = gp_software.post("DocumentReference", resource, headers=headers)
    other = hospital_software.post("DocumentReference", resource, headers=headers)
    assert (first.status_code, other.status_code) == (201, 201), other.text
    assert first.json()["id"] != other.json()["id"]


def test_a_failed_push_keeps_no_key(gp_software, personas):
    headers = key_header()
    broken = without_master_identifier(personas.mother)
    broken["type"]["coding"][0]["code"] = "00000-0"
    assert gp_software.post("DocumentReference", broken, headers=headers).status_code == 422
    assert DepositKey.objects.count() == 0
    fixed = without_master_identifier(personas.mother)
    assert gp_software.post("DocumentReference", fixed, headers=headers).status_code == 201


def test_after_the_window_the_key_is_forgotten_and_purged(gp_software, personas, settings):
    headers = key_header()
    resource = without_master_identifier(personas.mother)
    gp_software.post("DocumentReference", resource, headers=headers)
    DepositKey.objects.filter(patient=personas.mother).update(
        created_at=timezone.now() - timedelta(hours=settings.RECORD_IDEMPOTENCY_HOURS, minutes=1)
    )
    again = gp_software.post("DocumentReference", resource, headers=headers)
    assert again.status_code == 201
    assert Document.objects.count() == 2
    assert record.purge_deposit_keys() == 0  # the expired row was replaced by the new one
    DepositKey.objects.filter(patient=personas.mother).update(
        created_at=timezone.now() - timedelta(hours=settings.RECORD_IDEMPOTENCY_HOURS, minutes=1)
    )
    assert record.purge_deposit_keys() == 1
    assert DepositKey.objects.count() == 0


def test_a_malformed_key_is_a_400(gp_software, personas):
    resource = without_master_identifier(personas.mother)
    for value in ("", '""', "x" * 256, "clé\u0007"):
        response = gp_software.post(
            "DocumentReference", resource, headers={"Idempotency-Key": value}
        )
        assert_outcome(response, 400, "Idempotency-Key")
    assert Document.objects.count() == 0


def test_parallel_pushes_with_one_key_leave_one_document(gp_software, personas):
    """A client retrying before the first answer came: one document, every answer names it."""
    if connection.vendor != "postgresql":
        pytest.skip("Requêtes parallèles : PostgreSQL seulement (SQLite sérialise les écritures)")
    resource, headers = without_master_identifier(personas.mother), key_header()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda _: gp_software.post("DocumentReference", resource, headers=headers),
                range(8),
            )
        )
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert Document.objects.count() == 1
    assert DepositKey.objects.count() == 1
