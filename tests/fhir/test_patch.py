"""Conditional PATCH of a document's metadata by its producer (PDSm update)."""

import json

import requests

from .conftest import assert_outcome, document_reference

ARCHIVED = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/isArchived"


def _patch(software, query: str, operations, content_type="application/json-patch+json", **headers):
    return requests.patch(
        f"{software.fhir}/DocumentReference{query}",
        data=json.dumps(operations),
        headers={**software.headers(), "Content-Type": content_type, **headers},
        timeout=10,
    )


def _pushed(software, person, **extra):
    resource = document_reference(person, **extra)
    response = software.post("DocumentReference", resource)
    assert response.status_code == 201, response.text
    return resource["masterIdentifier"]["value"], response.json()


def test_unhide_for_the_patient_then_archive(gp_software, personas):
    from espace_sante.access.policy import actor_for_user
    from espace_sante.record.documents import services as record

    hidden = {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "INVISIBLE_PATIENT"}]}
    _pushed(gp_software, personas.mother)  # a visible one, for comparison
    resource = document_reference(personas.mother)
    resource["securityLabel"].append(hidden)
    response = gp_software.post("DocumentReference", resource)
    master, pushed = resource["masterIdentifier"]["value"], response.json()
    mother = actor_for_user(personas.mother.user)
    assert record.document_page(mother, personas.mother.id).total == 1  # the other one only

    labels_index = len(pushed["securityLabel"]) - 1
    unhide = _patch(
        gp_software,
        f"?identifier=urn:ietf:rfc:3986|{master}",
        [{"op": "remove", "path": f"/securityLabel/{labels_index}"}],
    )
    assert unhide.status_code == 200, unhide.text
    assert unhide.json()["meta"]["versionId"] != pushed["meta"]["versionId"]
    assert unhide.headers["ETag"] == f'W/"{unhide.json()["meta"]["versionId"]}"'
    assert record.document_page(mother, personas.mother.id).total == 2

    archive = _patch(
        gp_software,
        f"?identifier=urn:ietf:rfc:3986|{master}",
        [
            {
                "op": "replace",
                "path": "/extension/0",
                "value": {"url": ARCHIVED, "valueBoolean": True},
            }
        ],
    )
    assert archive.status_code == 200, archive.text
    assert archive.json()["extension"] == [{"url": ARCHIVED, "valueBoolean": True}]
    assert archive.json()["meta"]["versionId"] != unhide.json()["meta"]["versionId"]


def test_withdraw_by_status(gp_software, personas):
    master, pushed = _pushed(gp_software, personas.mother)
    response = _patch(
        gp_software,
        f"?identifier=urn:ietf:rfc:3986|{master}",
        [{"op": "replace", "path": "/status", "value": "entered-in-error"}],
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "entered-in-error"
    current = gp_software.get(
        "DocumentReference", {"patient": str(personas.mother.id), "status": "current"}
    ).json()
    assert current["total"] == 0


def test_forbidden_paths_and_other_people_s_documents(gp_software, hospital_software, personas):
    master, pushed = _pushed(gp_software, personas.mother)
    query = f"?identifier=urn:ietf:rfc:3986|{master}"
    forbidden = _patch(
        gp_software, query, [{"op": "replace", "path": "/description", "value": "x"}]
    )
    assert_outcome(forbidden, 405, "description")
    sneaky = _patch(
        gp_software,
        query,
        [{"op": "add", "path": "/extension/-", "value": {"url": "x", "valueString": "y"}}],
    )
    assert_outcome(sneaky, 405, "isArchived")
    mask = _patch(
        gp_software,
        query,
        [
            {
                "op": "add",
                "path": "/securityLabel/-",
                "value": {
                    "coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "MASQUE_PS"}]
                },
            }
        ],
    )
    assert_outcome(mask, 403, "choix du patient")
    assert_outcome(
        _patch(gp_software, query, [{"op": "replace", "path": "/status", "value": "superseded"}]),
        422,
        "retiré",
    )
    assert_outcome(
        _patch(hospital_software, query, [{"op": "remove", "path": "/extension/0"}]),
        404,
        "Aucun document",
    )
    assert_outcome(
        _patch(gp_software, query, [{"op": "remove", "path": "/extension/0"}], "application/xml"),
        415,
        "JSON Patch",
    )
    assert_outcome(
        _patch(gp_software, "", [{"op": "remove", "path": "/status"}]), 400, "identifier"
    )
    assert_outcome(
        _patch(gp_software, query, [{"op": "test", "path": "/status", "value": "superseded"}]),
        409,
        "test",
    )


def test_if_match_protects_against_lost_updates(gp_software, personas):
    master, pushed = _pushed(gp_software, personas.mother)
    query = f"?identifier=urn:ietf:rfc:3986|{master}"
    archive = [
        {"op": "replace", "path": "/extension/0", "value": {"url": ARCHIVED, "valueBoolean": True}}
    ]
    etag = f'W/"{pushed["meta"]["versionId"]}"'
    first = _patch(gp_software, query, archive, **{"If-Match": etag})
    assert first.status_code == 200, first.text
    stale = _patch(
        gp_software, query, [{"op": "remove", "path": "/extension/0"}], **{"If-Match": etag}
    )
    assert_outcome(stale, 412, "a changé")


def test_conditional_patch_scoped_to_the_named_patient(gp_software, personas):
    master, _ = _pushed(gp_software, personas.mother)
    withdraw = [{"op": "replace", "path": "/status", "value": "entered-in-error"}]
    elsewhere = _patch(
        gp_software, f"?identifier=urn:ietf:rfc:3986|{master}&patient={personas.elder.id}", withdraw
    )
    assert_outcome(elsewhere, 404, "identifiant")
    nobody = _patch(
        gp_software,
        f"?identifier=urn:ietf:rfc:3986|{master}&patient=00000000-0000-0000-0000-000000000000",
        withdraw,
    )
    assert_outcome(nobody, 404, "identifiant")
    scoped = _patch(
        gp_software,
        f"?identifier=urn:ietf:rfc:3986|{master}&patient={personas.mother.id}",
        withdraw,
    )
    assert scoped.status_code == 200, scoped.text
    assert scoped.json()["status"] == "entered-in-error"
