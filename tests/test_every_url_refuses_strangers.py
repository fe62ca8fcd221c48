"""Every URL that shows or changes health data, tried by someone else: 404, never data.

The routes are read from the URL configuration, so a new page is covered the
day it is added; real UUIDs of Marie's objects fill their parameters.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import actor_for_user
from espace_sante.messaging import services as messaging
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from espace_sante.record.profile import services as profile_services

from .record.conftest import make_pdf

pytestmark = pytest.mark.django_db

# Pages for professionals show a patient's identity and what the policy allows:
# covered by tests/portal; here, the citizen side.
# The operator console holds no health data: tests/operator checks citizens get 404 there.
PROFESSIONAL_PREFIXES = ("pro/", "operateur/")
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    for route in walk(get_resolver().url_patterns):
        if "uuid:" in route and not route.startswith(PROFESSIONAL_PREFIXES + ("admin",)):
            yield route


@pytest.fixture
def marie_objects(personas):
    marie = actor_for_user(personas.mother.user)
    document = record.add_document(
        marie,
        personas.mother,
        SimpleUploadedFile("b.pdf", make_pdf()),
        record.NewDocument(title="Bilan sanguin", type_code="DOCPAT05", source="patient"),
    )
    entry = profile_services.add_entry(marie, personas.mother, "allergies", {"substance": "Iode"})
    measure = profile_services.add_measure(
        marie, personas.mother, "29463-7", {"value": "61,5", "date": "2025-02-03"}
    )
    audit_entry = AuditEntry.objects.filter(patient_id=personas.mother.id).first()
    conversation = messaging.start_conversation(
        actor_for_user(personas.gp.user, organization_id=personas.gp.roles.get().organization_id),
        personas.mother,
        subject="Résultats",
        body="Ci-joint",
        attachments=[SimpleUploadedFile("r.pdf", make_pdf())],
    )
    return {
        "conversation_id": conversation.id,
        "attachment_id": conversation.messages.get().attachments.get().id,
        "patient_id": personas.mother.id,
        "document_id": document.id,
        "entry_id": entry.id,
        "measure_id": getattr(measure, "id", None) or getattr(measure, "pk", None),
        "professional_id": personas.gp.id,
        "slug": "allergies",
        "audit_entry_id": audit_entry.id,
    }


def fill(route: str, values: dict) -> str:
    def value(match):
        name = match.group(2)
        if name == "slug" and "mesures/" in route:
            return "poids"
        if name == "entry_id" and route.startswith("parametres/historique/"):
            return str(values["audit_entry_id"])  # a real entry of Marie's trail
        return str(values[name])

    return "/" + PARAM.sub(value, route)


def snapshot():
    return sorted(
        Document.objects.values_list("id", "masked_from_professionals", "status", "title_encrypted")
    )


def test_another_citizen_gets_404_on_every_page_of_someone_elses_space(
    client, personas, marie_objects
):
    client.force_login(personas.elder.user)
    before = snapshot()
    checked = []
    for route in routes():
        url = fill(route, marie_objects)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (404, 405), f"{url} → {response.status_code}"
        checked.append(url)
    assert len(checked) >= 20
    assert snapshot() == before  # nothing changed


def test_a_signed_out_visitor_is_sent_to_sign_in(client, marie_objects):
    for route in routes():
        url = fill(route, marie_objects)
        response = client.get(url)
        assert response.status_code in (302, 404, 405), url
        if response.status_code == 302:
            assert response["Location"].startswith("/comptes/login/")
