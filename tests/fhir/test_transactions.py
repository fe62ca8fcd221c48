"""ITI-65 transaction bundles (all or nothing) and ITI-66 submission set search."""

import base64
import hashlib
import uuid

from .conftest import PDF, assert_outcome, document_reference, ins_of


def provide_bundle(person, documents: int = 2, unique_id=None, broken_at=None) -> dict:
    entries = []
    doc_urls = []
    for index in range(documents):
        binary_url = f"urn:uuid:{uuid.uuid4()}"
        doc_url = f"urn:uuid:{uuid.uuid4()}"
        doc_urls.append(doc_url)
        resource = document_reference(person)
        resource["description"] = f"Document {index + 1}"
        attachment = resource["content"][0]["attachment"]
        del attachment["data"]
        attachment["url"] = binary_url
        if index == broken_at:
            resource["type"]["coding"][0]["code"] = "00000-0"
        entries.append(
            {
                "fullUrl": doc_url,
                "resource": resource,
                "request": {"method": "POST", "url": "DocumentReference"},
            }
        )
        entries.append(
            {
                "fullUrl": binary_url,
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/pdf",
                    "data": base64.b64encode(PDF).decode(),
                },
                "request": {"method": "POST", "url": "Binary"},
            }
        )
    submission = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": {
            "resourceType": "List",
            "status": "current",
            "mode": "working",
            "identifier": [
                {
                    "use": "usual",
                    "system": "urn:ietf:rfc:3986",
                    "value": unique_id or f"urn:oid:1.2.3.{uuid.uuid4().int % 10**8}",
                }
            ],
            "code": {
                "coding": [
                    {
                        "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                        "code": "submissionset",
                    }
                ]
            },
            "subject": {"reference": f"Patient?identifier={ins_of(person)}"},
            "extension": [
                {
                    "url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
                    "valueIdentifier": {"value": "urn:oid:1.2.250.1.999"},
                }
            ],
            "entry": [{"item": {"reference": url}} for url in doc_urls],
        },
        "request": {"method": "POST", "url": "List"},
    }
    return {"resourceType": "Bundle", "type": "transaction", "entry": [submission, *entries]}


def _documents(software, person):
    return software.get(
        "DocumentReference", {"patient": str(person.id), "status": "current"}
    ).json()


def test_a_bundle_stores_everything_and_answers_in_order(gp_software, personas):
    bundle = provide_bundle(personas.mother)
    response = gp_software.post("", bundle)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response"
    statuses = [entry["response"]["status"] for entry in body["entry"]]
    assert statuses == ["201 Created"] * 5
    locations = [entry["response"]["location"] for entry in body["entry"]]
    assert locations[0].startswith("List/")
    assert locations[1].startswith("DocumentReference/")
    assert locations[2] == f"Binary/{locations[1].split('/')[1]}"
    assert _documents(gp_software, personas.mother)["total"] == 2

    sets = gp_software.get("List", {"patient.identifier": ins_of(personas.mother)}).json()
    assert sets["total"] == 1
    listed = sets["entry"][0]["resource"]
    assert listed["code"]["coding"][0]["code"] == "submissionset"
    assert {e["item"]["reference"] for e in listed["entry"]} == {
        locations[1].rsplit("/_history", 1)[0],
        locations[3].rsplit("/_history", 1)[0],
    }
    by_source = gp_software.get(
        "List", {"patient": str(personas.mother.id), "source": "urn:oid:1.2.250.1.999"}
    ).json()
    assert by_source["total"] == 1


def test_one_failing_entry_stores_nothing(gp_software, personas, private_keys_and_blobs):
    response = gp_software.post("", provide_bundle(personas.mother, documents=3, broken_at=2))
    assert_outcome(response, 422, "Entrée n°6", "Type de document inconnu", "Rien n'a été")
    assert _documents(gp_software, personas.mother)["total"] == 0
    assert gp_software.get("List", {"patient": str(personas.mother.id)}).json()["total"] == 0
    blobs = [p for p in private_keys_and_blobs.rglob("*") if p.is_file()]
    assert blobs == []


def test_a_retried_bundle_creates_no_copy(gp_software, personas):
    bundle = provide_bundle(personas.mother)
    assert gp_software.post("", bundle).status_code == 200
    again = gp_software.post("", bundle)
    assert again.status_code == 200, again.text
    assert [e["response"]["status"] for e in again.json()["entry"]][1] == "200 OK"
    assert _documents(gp_software, personas.mother)["total"] == 2


def test_bad_bundles(gp_software, personas):
    assert_outcome(gp_software.post("", {"resourceType": "Patient"}), 400, "Bundle")
    batch = provide_bundle(personas.mother) | {"type": "batch"}
    assert_outcome(gp_software.post("", batch), 400, "transaction")
    no_list = provide_bundle(personas.mother)
    no_list["entry"] = no_list["entry"][1:]
    assert_outcome(gp_software.post("", no_list), 422, "SubmissionSet")
    hash_mismatch = provide_bundle(personas.mother, documents=1)
    hash_mismatch["entry"][1]["resource"]["content"][0]["attachment"]["hash"] = base64.b64encode(
        hashlib.sha1(b"autre").digest()  # noqa: S324 - the hash MHD uses
    ).decode()
    assert_outcome(gp_software.post("", hash_mismatch), 422, "SHA-1")
    assert _documents(gp_software, personas.mother)["total"] == 0


def test_submission_sets_follow_document_visibility(gp_software, hospital_software, personas):
    assert gp_software.post("", provide_bundle(personas.mother)).status_code == 200
    assert hospital_software.get("List", {"patient": str(personas.mother.id)}).json()["total"] == 0
