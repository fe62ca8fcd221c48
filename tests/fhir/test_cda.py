"""CDA R2 documents pushed through the API: N1 bodies extracted, N3 kept and rendered."""

import base64
from datetime import datetime
from zoneinfo import ZoneInfo

from espace_sante.access.policy import actor_for_user
from espace_sante.record.documents import services as record
from espace_sante.record.documents.cda import narrative_sections

from .conftest import PDF, document_reference


def n1_cda(person) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.213.1.1.9" extension="cr-n1-1"/>
  <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"/>
  <title>Lettre de liaison</title>
  <effectiveTime value="20261120100000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole>
    <id root="{person.ins_system}" extension="{person.ins_matricule}"/>
  </patientRole></recordTarget>
  <component><nonXMLBody>
    <text mediaType="application/pdf" representation="B64">{base64.b64encode(PDF).decode()}</text>
  </nonXMLBody></component>
</ClinicalDocument>""".encode()


def test_n1_cda_is_stored_as_its_pdf(gp_software, personas):
    resource = document_reference(personas.mother, data=n1_cda(personas.mother))
    resource["content"][0]["attachment"]["contentType"] = "text/xml"
    response = gp_software.post("DocumentReference", resource)
    assert response.status_code == 201, response.text
    attachment = response.json()["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    binary = gp_software.get(f"Binary/{response.json()['id']}", accept="*/*")
    assert binary.content == PDF


def test_n3_cda_is_kept_and_its_narrative_rendered_for_the_patient(gp_software, personas, practice):
    from espace_sante.demo.documents import _vsm_cda

    cda = _vsm_cda(
        personas.mother, personas.gp, practice, datetime(2026, 11, 2, tzinfo=ZoneInfo("UTC"))
    )
    resource = document_reference(personas.mother, data=cda, type_code="60591-5")
    resource["content"][0]["attachment"]["contentType"] = "text/xml"
    response = gp_software.post("DocumentReference", resource)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content"][0]["format"]["code"] == "urn:asip:ci-sis:cda-n3"
    assert body["content"][0]["attachment"]["contentType"] == "application/xml"

    mother = actor_for_user(personas.mother.user)
    document = record.access_document(mother, body["id"])
    sections = narrative_sections(record.read_content(document))
    assert [s.title for s in sections][:2] == ["Pathologies en cours", "Traitements au long cours"]
