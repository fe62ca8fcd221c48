"""JSON nested far deeper than any FHIR resource: a 400 OperationOutcome, never a 500.

An independent client sent ``[`` × 100,000 then ``]`` × 100,000: Python's parser hit
its recursion limit and the server answered 500. Nothing may be stored either.
"""

import json

import pytest
import requests

from .conftest import assert_outcome, document_reference

DEEP = b"[" * 100_000 + b"]" * 100_000


def _documents():
    from espace_sante.record.documents.models import Document

    return Document.objects.count()


@pytest.mark.parametrize("path", ["DocumentReference", "", "Communication"])
def test_a_body_nested_100000_deep_is_refused_with_an_operation_outcome(
    gp_software, personas, path
):
    response = gp_software.post(path, DEEP)
    assert_outcome(response, 400, "niveaux")
    assert _documents() == 0


def test_a_json_patch_nested_100000_deep_is_refused_and_the_document_unchanged(
    gp_software, personas
):
    resource = document_reference(personas.mother)
    pushed = gp_software.post("DocumentReference", resource)
    assert pushed.status_code == 201, pushed.text
    master = resource["masterIdentifier"]["value"]
    response = requests.patch(
        f"{gp_software.fhir}/DocumentReference?identifier=urn:ietf:rfc:3986|{master}",
        data=DEEP,
        headers={**gp_software.headers(), "Content-Type": "application/json-patch+json"},
        timeout=30,
    )
    assert_outcome(response, 400, "niveaux")
    again = gp_software.get(f"DocumentReference/{pushed.json()['id']}")
    assert again.json()["meta"]["versionId"] == pushed.json()["meta"]["versionId"]


def test_an_extension_nested_two_hundred_deep_is_refused(gp_software, personas):
    # Below Python's recursion limit, so the parser alone would have accepted it.
    nested: dict = {"url": "urn:x:leaf", "valueString": "fin"}
    for _ in range(200):
        nested = {"url": "urn:x:niveau", "extension": [nested]}
    resource = document_reference(personas.mother, extension=[nested])
    assert_outcome(gp_software.post("DocumentReference", resource), 400, "niveaux")
    assert _documents() == 0


def test_brackets_inside_text_are_not_nesting(gp_software, personas):
    resource = document_reference(personas.mother, description="[" * 5_000 + "{" * 5_000)
    response = gp_software.post("DocumentReference", json.dumps(resource))
    assert response.status_code == 201, response.text
    assert _documents() == 1


def test_a_number_where_an_address_is_expected_is_refused_not_a_crash(gp_software, personas):
    """Found by the fuzzer on PostgreSQL: fhir.resources raised AttributeError (a 500)."""
    attachment = {"contentType": "text/plain", "data": "TgERhQ==", "url": 30.0}
    resource = {
        "resourceType": "Communication",
        "status": "in-progress",
        "subject": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "x"}},
        "payload": [{"contentAttachment": attachment}],
    }
    for path, body in (("Communication", resource), ("DocumentReference", None)):
        if body is None:
            body = document_reference(personas.mother)
            body["content"][0]["attachment"]["url"] = 30.0
        assert_outcome(gp_software.post(path, body), 400, "type attendu")
