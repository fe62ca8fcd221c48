"""Hostile files through the FHIR doors, over HTTP as outside software sends them.

ITI-105 (POST DocumentReference), ITI-65 (a transaction Bundle with Binary
entries) and secure messaging (POST Communication): each refusal is an
OperationOutcome in French with the right status, and nothing is stored.
Binary, when a browser asks for it, comes back sandboxed and never sniffed.
"""

import base64
import copy
import gzip
import json

import pytest
import requests

from espace_sante.messaging.models import Attachment
from espace_sante.record.documents.models import Document
from tests.fhir.conftest import assert_outcome, document_reference, ins_of, register
from tests.fhir.test_communication import new_conversation
from tests.fhir.test_transactions import provide_bundle
from tests.record.conftest import make_pdf

from . import hostile_files as hostile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def software(live_server, personas):
    from django.core.cache import cache

    from espace_sante.identity.models import Organization

    cache.clear()
    return register(live_server, Organization.objects.get(finess="310001235"), personas.gp)


def _blobs(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _push(person, data: bytes, content_type: str) -> dict:
    resource = document_reference(person, data=data)
    resource["content"][0]["attachment"]["contentType"] = content_type
    return resource


# (file, declared contentType, status, words of the OperationOutcome)
PUSHED = {
    "png-13000x13000": (lambda: hostile.png(13000, 13000), "image/png", 422, "trop grande"),
    "jpeg-65000x65000": (
        lambda: hostile.jpeg_declaring(65000, 65000),
        "image/jpeg",
        422,
        "trop grande",
    ),
    "tiff-2-pages-6000x6000": (
        lambda: hostile.tiff(6000, 6000, pages=2),
        "image/tiff",
        422,
        "2 pages",
    ),
    "apng-20-frames": (lambda: hostile.png(2000, 2000, frames=20), "image/png", 422, "20 pages"),
    "gif": (hostile.gif, "image/gif", 422, "n'est pas accepté"),
    "pdf-objstm-bomb-200mb": (
        lambda: hostile.pdf_object_stream_bomb(200),
        "application/pdf",
        422,
        "démesurées",
    ),
    "html-then-pdf": (
        lambda: hostile.html_then_pdf(make_pdf()),
        "application/pdf",
        422,
        "n'est pas accepté",
    ),
    "svg-as-xml": (lambda: hostile.SVG, "text/xml", 422, "CDA R2"),
    "cda-billion-laughs": (lambda: hostile.BILLION_LAUGHS, "text/xml", 422, "DTD"),
    "cda-nested-100000": (
        lambda: hostile.deeply_nested_cda(100_000),
        "text/xml",
        422,
        "100 niveaux",
    ),
    "pdf-javascript": (hostile.pdf_with_javascript, "application/pdf", 422, "JavaScript"),
    # What the software declared is checked against the bytes, never corrected.
    "pdf-declared-png": (make_pdf, "image/png", 422, "Le type annoncé (image/png)", "PDF"),
    "png-declared-pdf": (
        lambda: hostile.png(10, 10),
        "application/pdf",
        422,
        "Le type annoncé (application/pdf)",
        "PNG",
    ),
    "jpeg-declared-html": (hostile.jpeg, "text/html", 422, "Le type annoncé (text/html)"),
}


def test_each_hostile_push_is_an_operation_outcome_and_stores_nothing(
    software, personas, private_keys_and_blobs
):
    # One test, many pushes: the live server and its token are set up once.
    for case, (build, content_type, status, *words) in PUSHED.items():
        data = build()
        with hostile.measured(f"{case} via POST DocumentReference", len(data)):
            response = software.post(
                "DocumentReference", _push(personas.mother, data, content_type)
            )
        assert_outcome(response, status, *words)
    assert Document.objects.count() == 0
    assert _blobs(private_keys_and_blobs) == []


def test_a_declared_type_that_matches_is_accepted_under_its_other_names(
    software, personas, private_keys_and_blobs
):
    for content_type in ("application/pdf", "application/pdf; charset=binary", "application/x-pdf"):
        response = software.post(
            "DocumentReference", _push(personas.mother, make_pdf(), content_type)
        )
        assert response.status_code == 201, response.text
    assert Document.objects.filter(mime_type="application/pdf").count() == 3


def test_a_hostile_binary_in_a_transaction_bundle_refuses_the_whole_bundle(
    software, personas, private_keys_and_blobs
):
    bundle = provide_bundle(personas.mother, documents=2)
    binaries = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Binary"]
    flood = hostile.png(13000, 13000)
    binaries[1]["resource"]["data"] = base64.b64encode(flood).decode()
    binaries[1]["resource"]["contentType"] = "image/png"
    references = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    references[1]["content"][0]["attachment"]["contentType"] = "image/png"
    for key in ("size", "hash"):
        references[1]["content"][0]["attachment"].pop(key, None)
    with hostile.measured("png-13000x13000 via transaction Bundle", len(flood)):
        response = software.post("", bundle)
    assert_outcome(response, 422, "trop grande")
    mismatched = copy.deepcopy(provide_bundle(personas.mother, documents=1))
    for entry in mismatched["entry"]:
        if entry["resource"]["resourceType"] == "DocumentReference":
            entry["resource"]["content"][0]["attachment"]["contentType"] = "image/jpeg"
    assert_outcome(software.post("", mismatched), 422, "Le type annoncé (image/jpeg)")
    assert Document.objects.count() == 0
    assert _blobs(private_keys_and_blobs) == []


def test_a_hostile_attachment_in_a_message_is_refused(software, personas, private_keys_and_blobs):
    for case, data, title, content_type, words in [
        (
            "png-13000x13000",
            hostile.png(13000, 13000),
            "scan.png",
            "image/png",
            ("scan.png", "trop grande"),
        ),
        ("svg", hostile.SVG, "dessin.svg", "image/svg+xml", ("dessin.svg", "n'est pas accepté")),
        (
            "pdf-javascript",
            hostile.pdf_with_javascript(),
            "cr.pdf",
            "application/pdf",
            ("JavaScript",),
        ),
        ("pdf-named-jpg", make_pdf(), "photo.jpg", "application/pdf", ("extension .jpg",)),
        ("pdf-declared-png", make_pdf(), "scan", "image/png", ("Le type annoncé (image/png)",)),
    ]:
        message = new_conversation(personas.mother)
        message["payload"][1]["contentAttachment"].update(
            {"title": title, "data": base64.b64encode(data).decode(), "contentType": content_type}
        )
        with hostile.measured(f"{case} via POST Communication", len(data)):
            response = software.post("Communication", message)
        assert_outcome(response, 422, *words)
    assert Attachment.objects.count() == 0
    assert _blobs(private_keys_and_blobs) == []


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_binary_serves_a_polyglot_as_its_real_type_sandboxed_to_any_client(software, personas):
    data = hostile.jpeg(comment=b"<html><script>alert(document.domain)</script></html>")
    created = software.post("DocumentReference", _push(personas.mother, data, "image/jpeg"))
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    for accept in (BROWSER_ACCEPT, "image/jpeg", "*/*"):
        response = software.get(f"Binary/{document_id}", accept=accept)
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"].split("; ")
        assert response.headers["Cache-Control"] == "no-store"


def test_a_gzip_encoded_push_is_not_inflated(software, personas):
    """Content-Encoding is not decoded by the server: a 50 MB gzip bomb stays 50 KB of noise."""
    resource = document_reference(personas.mother)
    body = json.dumps(resource).encode() + b" " * (50 * 1024 * 1024)
    compressed = gzip.compress(body, compresslevel=9)
    headers = {**software.headers(), "Content-Type": "application/fhir+json"}
    headers["Content-Encoding"] = "gzip"
    with hostile.measured("POST DocumentReference gzip 50 Mo (Content-Encoding)", len(compressed)):
        response = requests.post(
            f"{software.fhir}/DocumentReference", data=compressed, headers=headers, timeout=30
        )
    assert_outcome(response, 400)
    assert Document.objects.count() == 0
    assert ins_of(personas.mother)  # the patient exists: the refusal is about the body
