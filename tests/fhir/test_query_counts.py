"""What one FHIR request costs in SQL: the bench's three requests, counted.

The API is called in-process through Django's test client (no server thread)
so every query of the request is captured. The bounds are what the request
needs today on SQLite and PostgreSQL; a query per listed document, or a
relation computed twice, makes them fail. No timing here: ``bench/fhir.py``
measures speed. The answers are also parsed with fhir.resources, which proves
the hand-built JSON is valid FHIR.
"""

import base64
import hashlib
import json
import time
import uuid

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.patient import Patient

from .conftest import PDF, jwks_of, new_key

HOST = "testserver"
FHIR = f"http://{HOST}/fhir/R4"
# The token with its installation (1), the jti (1), the professional's role (1),
# the patient (1), the policy's relation (1), then the audit entry: BEGIN, the
# chain head, the entry, the head moved, the access-email check, COMMIT (6).
MAX_READ_QUERIES = 11
MAX_SEARCH_QUERIES = 14  # + the count, the page and the patient's key row (3)
# + the duplicate check, the key row and the document (3), no email; + the patient's
# new-document preference and the digest's pending row (2).
MAX_PUSH_QUERIES = 15


class InProcessSoftware:
    """Professional software talking to the API through the test client."""

    def __init__(self, organization, professional, access_mode=""):
        from espace_sante.fhir.services import register_software

        self.key = new_key()
        client = register_software(organization, "Logiciel mesuré", jwks_of(self.key, "k1"))
        self.client_id = client.application.client_id
        self.professional = professional
        self.finess = organization.finess
        self.access_mode = access_mode
        self.web = Client()
        now = int(time.time())
        response = self.web.post(
            "/o/token/",
            {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self._sign(
                    {
                        "iss": self.client_id,
                        "sub": self.client_id,
                        "aud": f"http://{HOST}/o/token/",
                        "iat": now,
                        "exp": now + 60,
                        "jti": str(uuid.uuid4()),
                    }
                ),
            },
        )
        assert response.status_code == 200, response.content
        self.token = response.json()["access_token"]

    def _sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "k1"})

    def headers(self) -> dict:
        now = int(time.time())
        acting = self._sign(
            {
                "iss": self.client_id,
                "aud": FHIR,
                "sub": self.professional.rpps,
                "profession": self.professional.profession,
                "organization": self.finess,
                "iat": now,
                "exp": now + 60,
                "jti": str(uuid.uuid4()),
            }
            | ({"access_mode": self.access_mode} if self.access_mode else {})
        )
        return {
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            "HTTP_X_ACTING_PROFESSIONAL": acting,
            "HTTP_ACCEPT": "application/fhir+json",
        }

    def push(self, person):
        body = {
            "resourceType": "DocumentReference",
            "status": "current",
            "masterIdentifier": {"value": f"urn:uuid:{uuid.uuid4()}"},
            "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
            "subject": {"reference": f"Patient/{person.id}"},
            "description": "Compte rendu de consultation",
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "data": base64.b64encode(PDF).decode(),
                        "size": len(PDF),
                        "hash": base64.b64encode(hashlib.sha1(PDF).digest()).decode(),  # noqa: S324
                    }
                }
            ],
        }
        return self.web.post(
            "/fhir/R4/DocumentReference",
            json.dumps(body),
            content_type="application/fhir+json",
            **self.headers(),
        )

    def search(self, person):
        return self.web.get(
            "/fhir/R4/DocumentReference",
            {"patient": str(person.id), "status": "current", "_count": "20"},
            **self.headers(),
        )

    def read_patient(self, person):
        return self.web.get(f"/fhir/R4/Patient/{person.id}", **self.headers())


@pytest.fixture
def software(personas, practice):
    """Dr Martin's practice software; she is Marie Durand's médecin traitant."""
    return InProcessSoftware(practice, personas.gp)


def counted(call):
    with CaptureQueriesContext(connection) as queries:
        response = call()
    return response, len(queries)


def test_reading_a_patient_costs_a_fixed_handful_of_queries(software, personas):
    software.read_patient(personas.mother)  # first access: chain head, keys, notification
    response, queries = counted(lambda: software.read_patient(personas.mother))
    assert response.status_code == 200, response.content
    Patient.model_validate(response.json())
    assert queries <= MAX_READ_QUERIES


def test_a_search_costs_the_same_whatever_the_number_of_documents(software, personas):
    software.push(personas.mother)
    software.search(personas.mother)  # the first read of the hour also creates Marie's email
    _, few_queries = counted(lambda: software.search(personas.mother))
    for _ in range(24):
        assert software.push(personas.mother).status_code == 201
    response, many_queries = counted(lambda: software.search(personas.mother))
    assert response.status_code == 200, response.content
    bundle = Bundle.model_validate(response.json())
    assert bundle.total == 25 and len(bundle.entry) == 20
    for entry in bundle.entry:
        DocumentReference.model_validate(entry.resource.model_dump())
    assert many_queries == few_queries  # no query per listed document
    assert many_queries <= MAX_SEARCH_QUERIES


def test_a_push_costs_a_fixed_handful_of_queries(software, personas):
    assert software.push(personas.mother).status_code == 201
    response, queries = counted(lambda: software.push(personas.mother))
    assert response.status_code == 201, response.content
    DocumentReference.model_validate(response.json())
    assert queries <= MAX_PUSH_QUERIES


def test_a_block_between_two_requests_is_seen_by_the_next(software, personas, hospital):
    """The policy remembers a relation for one request only."""
    from espace_sante.access import services as access
    from espace_sante.access.policy import Actor, ActorKind

    software.push(personas.mother)
    benali = InProcessSoftware(hospital, personas.hospital_doctor, access_mode="consent")
    assert benali.search(personas.mother).json()["total"] == 1  # consent recorded, then read
    marie = Actor(ActorKind.PATIENT, person_id=personas.mother.id)
    access.block_professional(marie, personas.mother, personas.hospital_doctor)
    assert benali.search(personas.mother).json()["total"] == 0
