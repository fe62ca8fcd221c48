"""The access rules of the web, reproduced through the FHIR API (same services, same policy)."""

from django.core.management import call_command

from espace_sante.access import services as access
from espace_sante.access.policy import actor_for_user

from .conftest import assert_outcome, document_reference, register


def _search(software, patient, **params):
    response = software.get(
        "DocumentReference", {"patient": str(patient.id), "status": "current", **params}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _ids(bundle) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def test_a_professional_without_relation_sees_nothing_until_consent(
    hospital_software, gp_software, personas
):
    pushed = gp_software.post("DocumentReference", document_reference(personas.mother)).json()
    assert _search(hospital_software, personas.mother)["total"] == 0
    assert_outcome(hospital_software.get(f"Binary/{pushed['id']}"), 404, "introuvable")
    with_consent = hospital_software.as_professional(
        personas.hospital_doctor, access_mode="consent"
    )
    assert _ids(_search(with_consent, personas.mother)) == [pushed["id"]]
    # The consent is now recorded: the next request needs no assertion of it.
    assert _ids(_search(hospital_software, personas.mother)) == [pushed["id"]]


def test_a_blocked_professional_can_push_but_finds_nothing(hospital_software, personas):
    mother = actor_for_user(personas.mother.user)
    access.block_professional(mother, personas.mother, personas.hospital_doctor)
    blocked = hospital_software.as_professional(personas.hospital_doctor, access_mode="consent")
    pushed = blocked.post("DocumentReference", document_reference(personas.mother))
    assert pushed.status_code == 201, pushed.text
    assert _search(blocked, personas.mother)["total"] == 0
    assert_outcome(blocked.get(f"Binary/{pushed.json()['id']}"), 404, "introuvable")
    assert_outcome(blocked.get(f"DocumentReference/{pushed.json()['id']}"), 404, "introuvable")


def test_a_dentist_does_not_see_a_psychiatric_summary(live_server, gp_software, personas):
    from espace_sante.identity import services as identity

    dental = identity.create_organization(
        finess="310009998", kind="practice", name="Cabinet dentaire des Carmes"
    )
    dentist = identity.create_professional(
        rpps="10009999995", profession="40", first_name="Paul", last_name="Roux", title="Dr"
    )
    identity.add_role(dentist, dental, "Chirurgien-dentiste")
    psy = gp_software.post(
        "DocumentReference", document_reference(personas.mother, type_code="68599-0")
    ).json()
    report = gp_software.post("DocumentReference", document_reference(personas.mother)).json()
    dentist_software = register(live_server, dental, dentist, access_mode="consent")
    assert _ids(_search(dentist_software, personas.mother)) == [report["id"]]
    assert_outcome(dentist_software.get(f"Binary/{psy['id']}"), 404, "introuvable")
    # The médecin traitant sees both.
    assert set(_ids(_search(gp_software, personas.mother))) == {report["id"], psy["id"]}


def test_emergency_access_is_traced_and_notified(
    hospital_software, gp_software, personas, smtp_server
):
    from espace_sante.access.models import AuditEntry

    pushed = gp_software.post("DocumentReference", document_reference(personas.mother)).json()
    emergency = hospital_software.as_professional(
        personas.hospital_doctor,
        access_mode="emergency",
        justification="Patiente inconsciente aux urgences, antécédents inconnus",
    )
    assert _ids(_search(emergency, personas.mother)) == [pushed["id"]]
    opened = AuditEntry.objects.get(
        patient_id=personas.mother.id, action="emergency", outcome="allowed"
    )
    assert opened.acting_for == hospital_software.client_id
    assert "inconsciente" in opened.reason
    listed = AuditEntry.objects.get(
        patient_id=personas.mother.id,
        action="list",
        actor_professional_id=personas.hospital_doctor.id,
    )
    assert listed.mode == "emergency_btg"
    assert listed.acting_for == hospital_software.client_id
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    assert smtp_server.wait_for(personas.mother.user.email)
    assert smtp_server.wait_for(personas.gp.email)


def test_emergency_refused_by_the_patient(hospital_software, personas):
    mother = actor_for_user(personas.mother.user)
    access.update_settings(mother, personas.mother, emergency_btg=False)
    emergency = hospital_software.as_professional(
        personas.hospital_doctor,
        access_mode="emergency",
        justification="Patiente inconsciente aux urgences",
    )
    response = emergency.get(
        "DocumentReference", {"patient": str(personas.mother.id), "status": "current"}
    )
    assert_outcome(response, 403, "refusé l'accès d'urgence")


def test_masked_documents_stay_hidden_from_other_professionals(
    gp_software, hospital_software, personas
):
    resource = document_reference(personas.mother)
    resource["securityLabel"].append(
        {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "MASQUE_PS"}]}
    )
    masked = gp_software.post("DocumentReference", resource).json()
    labels = [label["coding"][0]["code"] for label in masked["securityLabel"]]
    assert "MASQUE_PS" in labels
    with_consent = hospital_software.as_professional(
        personas.hospital_doctor, access_mode="consent"
    )
    assert _search(with_consent, personas.mother)["total"] == 0
    assert _ids(_search(gp_software, personas.mother)) == [masked["id"]]


def test_the_patient_sees_the_software_in_her_history(gp_software, personas):
    from espace_sante.access import history

    from .conftest import ins_of

    gp_software.get("Patient", {"identifier": ins_of(personas.mother)})
    gp_software.post("DocumentReference", document_reference(personas.mother))
    _search(gp_software, personas.mother)
    mother = actor_for_user(personas.mother.user)
    page = history.history_page(mother, personas.mother.id, tab=history.TAB_OTHERS)
    sentences = [item.sentence for item in page.items]
    assert any(
        "Claire Martin" in s and "par le logiciel Logiciel de test 1.0" in s and "ajouté" in s
        for s in sentences
    ), sentences
    assert any("consulté la liste de vos documents" in s for s in sentences), sentences
    assert any("vérifié que vous avez un espace santé" in s for s in sentences), sentences
