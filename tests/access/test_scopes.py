"""SMART scopes, read as the SMART App Launch specification writes them (v1 and v2)."""

import pytest

from espace_sante.access.scopes import Scope, allows, intersect, normalise, parse, reads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("patient/Observation.read", Scope("patient", "Observation", "rs")),
        ("patient/Observation.write", Scope("patient", "Observation", "cud")),
        ("patient/*.*", Scope("patient", "*", "cruds")),
        ("patient/DocumentReference.rs", Scope("patient", "DocumentReference", "rs")),
        ("user/Communication.cruds", Scope("user", "Communication", "cruds")),
        ("system/AuditEvent.s", Scope("system", "AuditEvent", "s")),
    ],
)
def test_v1_and_v2_scopes(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "fhirUser",
        "launch/patient",
        "offline_access",
        "patient/Observation",  # no permission
        "patient/Observation.sr",  # v2 letters out of order
        "patient/Observation.rrs",  # a letter twice
        "patient/Observation.x",
        "patient/observation.rs",  # not a FHIR type name
        "practitioner/Observation.rs",  # no such context
        "patient/Observation.rs?category=laboratory",  # narrowed by a query we do not evaluate
        "",
    ],
)
def test_anything_else_grants_nothing(text):
    assert parse(text) is None
    assert not allows([text], "Observation", "r")


def test_allows_by_letter_or_name_in_the_patient_context_only():
    held = "openid patient/DocumentReference.rs patient/Communication.c user/Observation.rs"
    assert allows(held, "DocumentReference", "r")
    assert allows(held, "DocumentReference", "search")
    assert not allows(held, "DocumentReference", "c")
    assert allows(held, "Communication", "create")
    assert not allows(held, "Communication", "r")
    assert not allows(held, "Observation", "r")  # a user/ scope: not for a patient's app
    assert allows(held, "Observation", "r", contexts=("patient", "user"))
    assert allows("patient/*.read", "AuditEvent", "s")
    assert reads("patient/AuditEvent.r", "AuditEvent") and reads("patient/*.s", "AuditEvent")
    assert not reads("patient/AuditEvent.c", "AuditEvent")
    with pytest.raises(ValueError, match="Unknown SMART permission"):
        allows(held, "DocumentReference", "x")


def test_intersection_is_what_both_allow():
    granted = "patient/*.rs patient/Observation.cruds"
    token = "patient/DocumentReference.read patient/Observation.c user/*.cruds openid"
    assert intersect(granted, token) == {
        "patient/DocumentReference.rs",
        "patient/Observation.c",
    }
    assert intersect("", token) == frozenset()
    assert normalise("openid patient/Observation.read patient/Observation.rs") == (
        "patient/Observation.rs"
    )
