"""The same operations through fhirpy, a FHIR client we did not write."""

import base64

import pytest
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from .conftest import PDF, document_reference, ins_of


def test_push_search_read_and_retrieve_with_fhirpy(gp_software, personas):
    client = gp_software.fhirpy()
    resource = client.resource(
        "DocumentReference", **{k: v for k, v in document_reference(personas.mother).items()}
    )
    resource.save()
    assert resource.id
    assert resource["status"] == "current"

    found = (
        client.resources("DocumentReference")
        .search(**{"patient.identifier": ins_of(personas.mother)}, status="current")
        .fetch()
    )
    assert [doc.id for doc in found] == [resource.id]

    read = client.reference("DocumentReference", resource.id).to_resource()
    assert read["description"] == "Compte rendu de consultation"

    binary = client.execute(f"Binary/{resource.id}", method="get")
    assert base64.b64decode(binary["data"]) == PDF


def test_patient_lookup_with_fhirpy(gp_software, personas):
    client = gp_software.fhirpy()
    patient = client.resources("Patient").search(identifier=ins_of(personas.mother)).first()
    assert patient is not None and patient["active"] is True
    same = client.reference("Patient", patient.id).to_resource()
    assert same["identifier"][0]["value"] == personas.mother.ins_matricule


def test_fhirpy_sees_the_operation_outcomes(gp_software, personas):
    client = gp_software.fhirpy()
    bad = client.resource("DocumentReference", **document_reference(personas.mother, b"x"))
    bad["type"] = {"coding": [{"system": "http://loinc.org", "code": "00000-0"}]}
    with pytest.raises(OperationOutcome) as refused:
        bad.save()
    assert "Type de document inconnu" in str(refused.value)
    with pytest.raises(ResourceNotFound):
        client.reference("DocumentReference", str(personas.mother.id)).to_resource()
    with pytest.raises(OperationOutcome) as missing:
        client.resources("DocumentReference").search(patient=str(personas.mother.id)).fetch()
    assert "status est obligatoire" in str(missing.value)


def test_book_find_and_cancel_an_appointment_with_fhirpy(gp_software, personas):
    from espace_sante.access.policy import actor_for_user
    from espace_sante.agenda import services as agenda

    from .test_appointment import appointment

    client = gp_software.fhirpy()
    booked = client.resource("Appointment", **appointment(personas.mother))
    booked.save()
    assert booked.id
    assert booked["meta"]["versionId"] == "1"

    found = (
        client.resources("Appointment")
        .search(**{"patient.identifier": ins_of(personas.mother)}, status="booked")
        .fetch()
    )
    assert [item.id for item in found] == [booked.id]

    read = client.reference("Appointment", booked.id).to_resource()
    read["status"] = "cancelled"
    read.save()
    again = client.reference("Appointment", booked.id).to_resource()
    assert again["status"] == "cancelled"
    assert again["meta"]["versionId"] == "2"
    [seen] = agenda.list_appointments(actor_for_user(personas.mother.user), personas.mother)
    assert seen.status == "cancelled"

    with pytest.raises(ResourceNotFound):
        client.reference("Appointment", "0b7c8f1e-6a52-4c2e-9d0c-1f0e2d3c4b5a").to_resource()
    with pytest.raises(OperationOutcome):
        client.resource("Appointment", **appointment(personas.mother, status="proposed")).save()
