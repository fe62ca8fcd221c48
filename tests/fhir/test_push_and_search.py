"""Depositing (ITI-105), finding (ITI-67) and retrieving (ITI-68) documents over HTTP."""

import base64

import pytest

from .conftest import PDF, assert_outcome, document_reference, ins_of


def test_capability_statement_says_what_the_server_does(live_server):
    import requests

    response = requests.get(f"{live_server.url}/fhir/R4/metadata", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {"DocumentReference", "Binary", "Patient"} <= set(types)
    params = {p["name"] for p in types["DocumentReference"]["searchParam"]}
    assert {"patient", "status", "type", "creation"} <= params


def test_push_then_search_then_retrieve(gp_software, personas):
    pushed = gp_software.post("DocumentReference", document_reference(personas.mother))
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["resourceType"] == "DocumentReference"
    assert body["status"] == "current"
    assert pushed.headers["ETag"] == f'W/"{body["meta"]["versionId"]}"'
    assert f"/fhir/R4/DocumentReference/{body['id']}/_history/" in pushed.headers["Location"]

    found = gp_software.get(
        "DocumentReference",
        {"patient.identifier": ins_of(personas.mother), "status": "current"},
    )
    assert found.status_code == 200, found.text
    bundle = found.json()
    assert bundle["type"] == "searchset"
    assert [e["resource"]["id"] for e in bundle["entry"]] == [body["id"]]

    url = bundle["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    content = gp_software.get(url.split("/fhir/R4/", 1)[1], accept="*/*")
    assert content.status_code == 200
    assert content.headers["Content-Type"] == "application/pdf"
    assert content.content == PDF


def test_the_same_push_twice_returns_the_first_document(gp_software, personas):
    resource = document_reference(personas.mother)
    first = gp_software.post("DocumentReference", resource)
    second = gp_software.post("DocumentReference", resource)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    found = gp_software.get(
        "DocumentReference", {"patient": str(personas.mother.id), "status": "current"}
    ).json()
    assert found["total"] == 1


def test_replacement_supersedes_the_old_document(gp_software, personas):
    old = gp_software.post("DocumentReference", document_reference(personas.mother)).json()
    new = gp_software.post(
        "DocumentReference",
        document_reference(
            personas.mother,
            relatesTo=[
                {"code": "replaces", "target": {"reference": f"DocumentReference/{old['id']}"}}
            ],
        ),
    )
    assert new.status_code == 201, new.text
    assert new.json()["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{old['id']}"
    current = gp_software.get(
        "DocumentReference", {"patient": str(personas.mother.id), "status": "current"}
    ).json()
    superseded = gp_software.get(
        "DocumentReference", {"patient": str(personas.mother.id), "status": "superseded"}
    ).json()
    assert [e["resource"]["id"] for e in current["entry"]] == [new.json()["id"]]
    assert [e["resource"]["id"] for e in superseded["entry"]] == [old["id"]]


def test_prefer_minimal_answers_without_body(gp_software, personas):
    response = gp_software.post(
        "DocumentReference",
        document_reference(personas.mother),
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["Location"]
    assert response.headers["ETag"].startswith('W/"')


def test_paging_links_and_sort(gp_software, personas):
    for day in (1, 2, 3):
        resource = document_reference(personas.mother)
        resource["content"][0]["attachment"]["creation"] = f"2026-10-0{day}T10:00:00+02:00"
        resource["description"] = f"Compte rendu {day}"
        assert gp_software.post("DocumentReference", resource).status_code == 201
    params = {"patient": str(personas.mother.id), "status": "current", "_count": "2"}
    page1 = gp_software.get("DocumentReference", params).json()
    assert page1["total"] == 3
    assert [e["resource"]["description"] for e in page1["entry"]] == [
        "Compte rendu 3",
        "Compte rendu 2",
    ]
    next_url = next(link["url"] for link in page1["link"] if link["relation"] == "next")
    page2 = gp_software.get(next_url.split("/fhir/R4/", 1)[1]).json()
    assert [e["resource"]["description"] for e in page2["entry"]] == ["Compte rendu 1"]
    oldest_first = gp_software.get("DocumentReference", params | {"_sort": "date"}).json()
    assert oldest_first["entry"][0]["resource"]["description"] == "Compte rendu 1"
    by_creation = gp_software.get(
        "DocumentReference", params | {"creation": "ge2026-10-02", "_count": "10"}
    ).json()
    assert by_creation["total"] == 2


def test_binary_as_fhir_json(gp_software, personas):
    pushed = gp_software.post("DocumentReference", document_reference(personas.mother)).json()
    response = gp_software.get(f"Binary/{pushed['id']}", {"_format": "json"})
    assert response.status_code == 200
    assert response.json()["contentType"] == "application/pdf"
    assert base64.b64decode(response.json()["data"]) == PDF


def test_patient_lookup_by_ins(gp_software, personas):
    from espace_sante.identity.models import SpaceState

    found = gp_software.get("Patient", {"identifier": ins_of(personas.mother)}).json()
    assert found["total"] == 1
    patient = found["entry"][0]["resource"]
    assert patient["active"] is True
    assert patient["identifier"][0]["value"] == personas.mother.ins_matricule

    read = gp_software.get(f"Patient/{patient['id']}")
    assert read.status_code == 200
    assert read.json()["birthDate"] == personas.mother.birth_date.isoformat()

    personas.elder.space_state = SpaceState.CLOSED
    personas.elder.save(update_fields=["space_state"])
    closed = gp_software.get("Patient", {"identifier": ins_of(personas.elder)}).json()
    assert closed["entry"][0]["resource"]["active"] is False

    personas.elder.space_state = SpaceState.OBJECTED
    personas.elder.save(update_fields=["space_state"])
    none = gp_software.get("Patient", {"identifier": ins_of(personas.elder)}).json()
    assert none["total"] == 0 and none.get("entry", []) == []


@pytest.mark.parametrize("fmt", ["json", "application/json", "application/fhir+json"])
def test_format_parameter_is_honoured(gp_software, personas, fmt):
    response = gp_software.get("Patient", {"identifier": ins_of(personas.mother), "_format": fmt})
    assert response.status_code == 200
    expected = "application/json" if fmt == "application/json" else "application/fhir+json"
    assert response.headers["Content-Type"].startswith(expected)


def test_xml_is_not_offered(gp_software, personas):
    response = gp_software.get("Patient", {"identifier": ins_of(personas.mother), "_format": "xml"})
    assert_outcome(response, 406, "JSON")


def test_a_document_of_several_megabytes(gp_software, personas):
    """Larger than Django's 1 MB form limit once in base64: the API reads the stream itself."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 10 Tf 40 800 Td (Imagerie) Tj ET\n" * 60_000)
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    pdf = buffer.getvalue()
    assert len(pdf) > 2_000_000
    response = gp_software.post("DocumentReference", document_reference(personas.mother, pdf))
    assert response.status_code == 201, response.text
    assert response.json()["content"][0]["attachment"]["size"] == len(pdf)
