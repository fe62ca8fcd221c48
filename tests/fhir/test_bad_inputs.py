"""Every bad request gets the right status and a French OperationOutcome, never a 500."""

import base64
import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import requests

from .conftest import PDF, assert_outcome, document_reference, ins_of


def test_malformed_json(gp_software):
    response = gp_software.post("DocumentReference", b'{"resourceType": "DocumentReference",')
    assert_outcome(response, 400, "JSON valide")


def test_wrong_resource_type(gp_software, personas):
    response = gp_software.post("DocumentReference", {"resourceType": "Patient"})
    assert_outcome(response, 400, "DocumentReference", "Patient")


def test_structurally_invalid_resource(gp_software, personas):
    resource = document_reference(personas.mother)
    resource["content"] = "pas une liste"
    assert_outcome(gp_software.post("DocumentReference", resource), 400, "invalide")


def test_xml_body_is_refused(gp_software):
    response = gp_software.post(
        "DocumentReference", b"<DocumentReference/>", headers={"Content-Type": "application/xml"}
    )
    assert_outcome(response, 415, "JSON")


def test_unknown_type_code(gp_software, personas):
    resource = document_reference(personas.mother, type_code="99999-9")
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "Type de document inconnu")


def test_subject_ins_with_a_wrong_key(gp_software, personas):
    wrong = personas.mother.ins_matricule[:13] + (
        "00" if personas.mother.ins_matricule[13:] != "00" else "01"
    )
    resource = document_reference(personas.mother)
    resource["subject"] = {
        "reference": f"Patient?identifier=urn:oid:{personas.mother.ins_system}|{wrong}"
    }
    assert_outcome(gp_software.post("DocumentReference", resource), 400, "clé")
    search = gp_software.get(
        "Patient", {"identifier": f"urn:oid:{personas.mother.ins_system}|{wrong}"}
    )
    assert_outcome(search, 400, "clé")


def test_unknown_patient(gp_software, personas):
    resource = document_reference(personas.mother)
    # A valid NIR nobody in the directory has.
    resource["subject"] = {
        "reference": "Patient?identifier=urn:oid:1.2.250.1.213.1.4.11|255081416802538"
    }
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "Aucun espace santé")
    resource["subject"] = {"reference": "Patient/7b4f0e8e-0000-4000-8000-000000000000"}
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "Aucun espace santé")


def test_unknown_identifier_system(gp_software, personas):
    response = gp_software.get("Patient", {"identifier": "urn:oid:1.2.3|123"})
    assert_outcome(response, 400, "Système d'identifiant")


def test_closed_space(gp_software, personas):
    from espace_sante.identity.models import SpaceState

    personas.elder.space_state = SpaceState.CLOSED
    personas.elder.save(update_fields=["space_state"])
    response = gp_software.post("DocumentReference", document_reference(personas.elder))
    assert_outcome(response, 403, "pas ouvert")


def test_search_without_status(gp_software, personas):
    response = gp_software.get("DocumentReference", {"patient": str(personas.mother.id)})
    assert_outcome(response, 400, "status est obligatoire")


def test_search_without_patient(gp_software, personas):
    response = gp_software.get("DocumentReference", {"status": "current"})
    assert_outcome(response, 400, "patient est obligatoire")


def test_search_on_an_unknown_parameter(gp_software, personas):
    unknown = gp_software.get(
        "DocumentReference",
        {"patient": str(personas.mother.id), "status": "current", "couleur": "bleu"},
    )
    assert_outcome(unknown, 400, "couleur")


def test_bad_search_values(gp_software, personas):
    base = {"patient": str(personas.mother.id)}
    assert_outcome(
        gp_software.get("DocumentReference", base | {"status": "brouillon"}), 400, "brouillon"
    )
    assert_outcome(
        gp_software.get("DocumentReference", base | {"status": "current", "creation": "hier"}),
        400,
        "hier",
    )
    assert_outcome(
        gp_software.get("DocumentReference", base | {"status": "current", "_count": "beaucoup"}),
        400,
        "_count",
    )


def test_oversized_request(gp_software, personas, settings):
    settings.RECORD_PROFESSIONAL_MAX_BYTES = 100
    response = gp_software.post("DocumentReference", document_reference(personas.mother))
    assert_outcome(response, 413, "taille maximale acceptée")


def test_oversized_attachment(gp_software, personas, settings):
    from tests.record.conftest import make_pdf

    pdf = make_pdf("Compte rendu", pages=3)
    settings.RECORD_PROFESSIONAL_MAX_BYTES = len(pdf) - 1
    response = gp_software.post("DocumentReference", document_reference(personas.mother, pdf))
    assert_outcome(response, 413, "dépasse la taille maximale de")


def test_size_mismatch(gp_software, personas):
    resource = document_reference(personas.mother)
    resource["content"][0]["attachment"]["size"] = len(PDF) + 10
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "Taille annoncée")


def test_hash_mismatch(gp_software, personas):
    resource = document_reference(personas.mother)
    resource["content"][0]["attachment"]["hash"] = base64.b64encode(
        hashlib.sha1(b"autre chose").digest()  # noqa: S324
    ).decode()
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "SHA-1")


def test_missing_inline_data(gp_software, personas):
    resource = document_reference(personas.mother)
    attachment = resource["content"][0]["attachment"]
    for name in ("data", "size", "hash"):
        del attachment[name]
    attachment["url"] = "https://ailleurs.example/doc.pdf"
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "attachment.data")


def test_content_that_is_not_what_it_claims(gp_software, personas):
    data = b"MZ\x90\x00 un executable"
    resource = document_reference(personas.mother, data=data)
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "type de fichier")


def test_cda_about_another_patient(gp_software, personas, practice):
    from espace_sante.demo.documents import _vsm_cda

    cda = _vsm_cda(
        personas.elder, personas.gp, practice, datetime(2026, 11, 2, tzinfo=ZoneInfo("UTC"))
    )
    resource = document_reference(personas.mother, data=cda, type_code="60591-5")
    resource["content"][0]["attachment"]["contentType"] = "text/xml"
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "autre personne")


def test_replacing_a_document_of_someone_else(gp_software, hospital_software, personas):
    theirs = hospital_software.post("DocumentReference", document_reference(personas.mother)).json()
    resource = document_reference(
        personas.mother,
        relatesTo=[
            {"code": "replaces", "target": {"reference": f"DocumentReference/{theirs['id']}"}}
        ],
    )
    assert_outcome(gp_software.post("DocumentReference", resource), 422, "remplacer")


def test_same_master_identifier_from_another_depositor(gp_software, hospital_software, personas):
    resource = document_reference(personas.mother)
    assert hospital_software.post("DocumentReference", resource).status_code == 201
    assert_outcome(gp_software.post("DocumentReference", resource), 409, "autre émetteur")


def test_unknown_address_and_method(gp_software, personas):
    assert_outcome(gp_software.get("Observation"), 404, "metadata")
    response = requests.delete(
        f"{gp_software.fhir}/DocumentReference/{personas.mother.id}",
        headers=gp_software.headers(),
        timeout=10,
    )
    assert_outcome(response, 405, "DELETE")
    assert response.headers["Allow"] == "GET, PATCH"


def test_unknown_document_and_binary(gp_software, personas):
    assert_outcome(gp_software.get(f"DocumentReference/{personas.mother.id}"), 404, "introuvable")
    assert_outcome(gp_software.get("Binary/pas-un-uuid"), 404, "introuvable")


def test_patient_search_needs_an_identifier(gp_software, personas):
    assert_outcome(gp_software.get("Patient"), 400, "identifier")
    assert_outcome(gp_software.get("Patient", {"name": "Durand"}), 400, "name")
    assert ins_of(personas.mother)
