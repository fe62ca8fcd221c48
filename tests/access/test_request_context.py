"""Each entry says which request wrote it and from which address; sign-ins are traced."""

import pytest

from espace_sante.access.models import AuditEntry

from .audit_support import verify

pytestmark = pytest.mark.django_db

LOGIN = "/comptes/login/"
CODE = "/comptes/login/code/confirm/"


def last_entry(patient) -> AuditEntry:
    return AuditEntry.objects.filter(patient_id=patient.id).order_by("-sequence").first()


def test_the_request_id_and_the_address_are_recorded(client, personas):
    client.force_login(personas.mother.user)
    response = client.get("/documents/", HTTP_X_REQUEST_ID="lb-4f2a9c1e-0001")
    assert response["X-Request-ID"] == "lb-4f2a9c1e-0001"
    entry = last_entry(personas.mother)
    assert (entry.action, entry.request_id, entry.ip) == ("list", "lb-4f2a9c1e-0001", "127.0.0.1")


def test_a_strange_request_id_is_replaced(client, personas):
    client.force_login(personas.mother.user)
    response = client.get("/documents/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response["X-Request-ID"]) == 32
    assert last_entry(personas.mother).request_id == response["X-Request-ID"]


def test_x_forwarded_for_is_ignored_unless_trusted(client, personas, settings):
    client.force_login(personas.mother.user)
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.7, 198.51.100.2", "REMOTE_ADDR": "10.0.0.5"}
    client.get("/documents/", **forwarded)
    assert last_entry(personas.mother).ip == "10.0.0.5"

    settings.TRUST_X_FORWARDED_FOR = True
    client.get("/documents/", **forwarded)
    # The address our proxy appended, not the one the client may have forged.
    assert last_entry(personas.mother).ip == "198.51.100.2"


def test_an_ipv6_address_is_kept_in_one_spelling(client, personas):
    client.force_login(personas.mother.user)
    client.get("/documents/", REMOTE_ADDR="::ffff:192.0.2.10")
    assert last_entry(personas.mother).ip == "192.0.2.10"
    assert verify(personas.mother)[0]


def test_a_citizen_sign_in_is_traced_in_her_own_trail(client, personas, smtp_server):
    email = personas.mother.user.email
    client.post(LOGIN, {"login": email, "password": personas.password})
    assert not AuditEntry.objects.filter(action="sign_in").exists()  # not yet: the code
    client.post(CODE, {"code": smtp_server.code_for(email)}, HTTP_X_REQUEST_ID="signin-req-0001")
    entry = AuditEntry.objects.get(action="sign_in")
    assert entry.patient_id == personas.mother.id
    assert entry.actor_person_id == personas.mother.id
    assert (entry.outcome, entry.object_type, entry.object_id) == ("allowed", "account", None)
    assert entry.request_id == "signin-req-0001"
    assert verify()[0]
