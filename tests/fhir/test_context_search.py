"""context.facilityType, context.practiceSetting and context.event: kept, searched, given back."""

import pytest

from .conftest import document_reference
from .test_transactions import provide_bundle

FACILITY = "urn:oid:1.2.250.1.213.1.1.4.9"  # JDV_J02 / TRE_R02 SecteurActivite
SETTING = "urn:oid:1.2.250.1.213.1.1.4.10"  # JDV_J04 / TRE_A00 practice settings
CCAM = "urn:oid:1.2.250.1.213.2.5"


def _context(facility, setting, *events):
    return {
        "facilityType": {"coding": [{"system": FACILITY, "code": facility}]},
        "practiceSetting": {"coding": [{"system": SETTING, "code": setting}]},
        "event": [{"coding": [{"system": CCAM, "code": code}]} for code in events],
    }


@pytest.fixture
def two_documents(gp_software, personas):
    """A cabinet consultation (ECG) and a hospital stay (echography, scanner)."""
    ids = {}
    for name, context in (
        ("cabinet", _context("SA07", "MEDGEN", "DEQP003")),
        ("hospital", _context("SA01", "CARDIO", "DZQM006", "ZBQK002")),
    ):
        pushed = gp_software.post(
            "DocumentReference", document_reference(personas.mother, context=context)
        )
        assert pushed.status_code == 201, pushed.text
        ids[name] = pushed.json()["id"]
    return ids


def _found(software, person, **params) -> list[str]:
    response = software.get(
        "DocumentReference", {"patient": str(person.id), "status": "current", **params}
    )
    assert response.status_code == 200, response.text
    return sorted(entry["resource"]["id"] for entry in response.json().get("entry", []))


def test_search_by_facility_setting_and_event(gp_software, personas, two_documents):
    cabinet, hospital = two_documents["cabinet"], two_documents["hospital"]
    mother = personas.mother
    assert _found(gp_software, mother, facility="SA07") == [cabinet]
    assert _found(gp_software, mother, facility=f"{FACILITY}|SA01") == [hospital]
    assert _found(gp_software, mother, setting="CARDIO") == [hospital]
    assert _found(gp_software, mother, setting=f"{SETTING}|MEDGEN") == [cabinet]
    assert _found(gp_software, mother, event="ZBQK002") == [hospital]
    assert _found(gp_software, mother, event=f"{CCAM}|DEQP003") == [cabinet]
    assert _found(gp_software, mother, event="DEQP003,DZQM006") == sorted([cabinet, hospital])
    assert _found(gp_software, mother, setting="CARDIO", event="DEQP003") == []


def test_a_code_nobody_has_finds_nothing(gp_software, personas, two_documents):
    mother = personas.mother
    assert _found(gp_software, mother, facility="SA99") == []
    assert _found(gp_software, mother, setting="PEDIATRIE") == []
    assert _found(gp_software, mother, event="ZZZZ999") == []
    # The right code in another code system is another code.
    assert _found(gp_software, mother, event="http://loinc.org|DEQP003") == []
    assert _found(gp_software, mother, facility=f"{SETTING}|SA07") == []


def test_the_context_comes_back_in_the_resource(gp_software, personas, two_documents):
    hospital = two_documents["hospital"]
    read = gp_software.get(f"DocumentReference/{hospital}").json()
    searched = gp_software.get(
        "DocumentReference",
        {"patient": str(personas.mother.id), "status": "current", "setting": "CARDIO"},
    ).json()["entry"][0]["resource"]
    for resource in (read, searched):
        assert resource["context"]["facilityType"] == {
            "coding": [{"system": FACILITY, "code": "SA01"}]
        }
        assert resource["context"]["practiceSetting"] == {
            "coding": [{"system": SETTING, "code": "CARDIO"}]
        }
        assert resource["context"]["event"] == [
            {"coding": [{"system": CCAM, "code": "DZQM006"}]},
            {"coding": [{"system": CCAM, "code": "ZBQK002"}]},
        ]


def test_a_document_pushed_in_a_bundle_keeps_its_context(gp_software, personas):
    bundle = provide_bundle(personas.mother, documents=1)
    bundle["entry"][1]["resource"]["context"] = _context("SA05", "PSYCHIATRIE", "YYYY001")
    assert gp_software.post("", bundle).status_code == 200
    found = gp_software.get(
        "DocumentReference",
        {"patient": str(personas.mother.id), "status": "current", "event": "YYYY001"},
    ).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["context"]["practiceSetting"]["coding"][0]["code"] == (
        "PSYCHIATRIE"
    )


def test_a_document_without_context_has_none(gp_software, personas):
    pushed = gp_software.post("DocumentReference", document_reference(personas.mother))
    assert "context" not in pushed.json()
    assert _found(gp_software, personas.mother, facility="SA07") == []


def test_the_capability_statement_lists_them(gp_software):
    body = gp_software.get("metadata").json()
    resource = next(r for r in body["rest"][0]["resource"] if r["type"] == "DocumentReference")
    params = {p["name"]: p["type"] for p in resource["searchParam"]}
    assert params["setting"] == params["facility"] == params["event"] == "token"
