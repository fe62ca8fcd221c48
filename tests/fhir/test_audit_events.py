"""The patient's own access log as FHIR AuditEvents (IHE BALP shape)."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from .conftest import assert_outcome, document_reference


def citizen_token(person, token="jeton-de-marie", scope="openid patient/AuditEvent.rs") -> str:  # noqa: S107
    """An app the patient authorised: its grant holds the token's data scopes (if any)."""
    from oauth2_provider.models import get_access_token_model

    from tests.personas import make_app

    app = make_app(person, scope)
    get_access_token_model().objects.create(
        user=person.user,
        application=app,
        token=token,
        expires=timezone.now() + timedelta(minutes=10),
        scope=scope,
    )
    return token


@pytest.fixture
def marie_token(personas) -> str:
    return citizen_token(personas.mother)


def _get(live_server, token, params):
    return requests.get(
        f"{live_server.url}/fhir/R4/AuditEvent",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_the_patient_reads_who_accessed_her_record(live_server, gp_software, personas, marie_token):
    pushed = gp_software.post("DocumentReference", document_reference(personas.mother)).json()
    gp_software.get(f"Binary/{pushed['id']}", accept="*/*")
    response = _get(live_server, marie_token, {"patient": str(personas.mother.id)})
    assert response.status_code == 200, response.text
    events = [entry["resource"] for entry in response.json()["entry"]]
    read = next(e for e in events if e.get("subtype", [{}])[0].get("code") == "read")
    assert read["action"] == "R"
    assert read["outcome"] == "0"
    assert read["agent"][0]["who"]["identifier"]["value"] == personas.gp.id_nat
    assert read["agent"][1]["who"]["display"] == "Logiciel de test 1.0"
    assert {"reference": f"DocumentReference/{pushed['id']}"} in [
        entity["what"] for entity in read["entity"]
    ]
    created = next(e for e in events if e["action"] == "C")
    assert created["entity"][0]["what"]["reference"] == f"Patient/{personas.mother.id}"


def test_nobody_else_reads_her_log(live_server, gp_software, personas, marie_token):
    other = _get(live_server, marie_token, {"patient": str(personas.elder.id)})
    assert_outcome(other, 404, "introuvable")
    software = requests.get(
        f"{live_server.url}/fhir/R4/AuditEvent",
        params={"patient": str(personas.mother.id)},
        headers=gp_software.headers(),
        timeout=10,
    )
    assert_outcome(software, 403, "patient lui-même")
    assert_outcome(_get(live_server, marie_token, {}), 400, "patient")
    assert_outcome(_get(live_server, "faux", {"patient": str(personas.mother.id)}), 401, "Jeton")
    sign_in_only = citizen_token(personas.mother, token="jeton-openid", scope="openid profile")
    assert_outcome(
        _get(live_server, sign_in_only, {"patient": str(personas.mother.id)}), 403, "portée"
    )


def test_her_app_is_named_and_reads_nothing_once_she_withdraws_it(
    live_server, personas, marie_token
):
    from oauth2_provider.models import get_access_token_model

    from espace_sante.access import grants, history
    from espace_sante.access.models import AuditEntry
    from espace_sante.access.policy import actor_for_user

    app = get_access_token_model().objects.get(token=marie_token).application
    assert _get(live_server, marie_token, {"patient": str(personas.mother.id)}).status_code == 200
    by_app = AuditEntry.objects.filter(patient_id=personas.mother.id, acting_for=app.client_id)
    [read] = by_app
    assert (read.actor_kind, read.action, read.outcome) == ("app", "list", "allowed")

    marie = actor_for_user(personas.mother.user)
    page = history.history_page(marie, personas.mother.id, tab="professionnels")
    assert page.items[0].sentence.startswith(
        f"L'application « {app.name} » a consulté votre historique d'activité"
    )

    assert grants.revoke_app(marie, personas.mother, app)
    refused = _get(live_server, marie_token, {"patient": str(personas.mother.id)})
    assert_outcome(refused, 404, "introuvable")
    assert by_app.filter(outcome="denied", actor_kind="app").count() == 1
