"""Characters that have no place in FHIR text: a 4xx answer, never a 500.

FHIR strings exclude U+0000, and PostgreSQL cannot store or even compare it in a text column
(``DataError``); a lone surrogate (``\\ud800``) has no UTF-8 form. Both were found by the fuzzer
(tests/fuzz) and answered 500.
"""

import json
import time
import uuid

import requests

from .conftest import JWT_BEARER, assert_outcome, document_reference, ins_of


def _documents():
    from espace_sante.record.documents.models import Document

    return Document.objects.count()


def test_a_nul_character_in_a_deposit_is_refused_and_nothing_is_stored(gp_software, personas):
    resource = document_reference(personas.mother)
    resource["masterIdentifier"]["value"] = "urn:oid:1.2.3\u00004"
    response = gp_software.post("DocumentReference", resource)
    assert_outcome(response, 400, "NUL")
    assert _documents() == 0


def test_a_nul_character_in_search_parameters_is_refused(gp_software, personas):
    patient = {"patient.identifier": ins_of(personas.mother), "status": "current"}
    for path, params in [
        ("DocumentReference", {**patient, "identifier": "urn:oid:1.2\u00003"}),
        ("List", {**patient, "code": "a\u0000b"}),
        ("Patient", {"identifier": "urn:oid:1.2.250.1.213.1.4.8|a\u0000b"}),
    ]:
        assert_outcome(gp_software.get(path, params), 400, "NUL")


def test_a_nul_character_in_a_conditional_patch_is_refused(gp_software, personas):
    response = requests.patch(
        f"{gp_software.fhir}/DocumentReference?identifier=a%00b",
        data=json.dumps([{"op": "replace", "path": "/status", "value": "entered-in-error"}]),
        headers={**gp_software.headers(), "Content-Type": "application/json-patch+json"},
        timeout=10,
    )
    assert_outcome(response, 400, "NUL")


def test_a_lone_surrogate_quoted_back_in_an_error_is_still_an_operation_outcome(
    gp_software, personas
):
    resource = document_reference(personas.mother)
    assert gp_software.post("DocumentReference", resource).status_code == 201
    master = resource["masterIdentifier"]["value"]
    response = requests.patch(
        f"{gp_software.fhir}/DocumentReference?identifier=urn:ietf:rfc:3986|{master}",
        data=json.dumps([{"op": "replace", "path": "/status", "value": "\ud800"}]),
        headers={**gp_software.headers(), "Content-Type": "application/json-patch+json"},
        timeout=10,
    )
    body = assert_outcome(response, 422, "Statut")
    assert "\ud800" in body["issue"][0]["diagnostics"]  # what was sent, escaped in JSON


def _token_request(software, **form):
    return requests.post(f"{software.base}/o/token/", data=form, timeout=10)


def test_a_client_whose_id_holds_a_nul_character_is_unknown(gp_software):
    now = int(time.time())
    claims = {
        "iss": "logiciel\u0000",
        "sub": "logiciel\u0000",
        "aud": f"{gp_software.base}/o/token/",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    signed = _token_request(
        gp_software,
        grant_type="client_credentials",
        client_assertion_type=JWT_BEARER,
        client_assertion=gp_software.sign(claims),
    )
    assert signed.status_code == 401, signed.text
    assert signed.json()["error"] == "invalid_client"
    by_id = _token_request(
        gp_software, grant_type="client_credentials", client_id="a\u0000b", client_secret="x"
    )
    assert by_id.status_code == 401, by_id.text
    assert by_id.json()["error"] == "invalid_client"


def test_an_acting_assertion_holding_a_nul_character_is_refused(gp_software, personas):
    response = gp_software.get(
        "Patient", {"identifier": ins_of(personas.mother)}, jti=f"{uuid.uuid4()}\u0000"
    )
    assert_outcome(response, 401, "NUL")
