"""The fuzzer's side: schemathesis cases from espace_sante/fhir/openapi.yaml, sent in-process.

Shared by the suite (tests/fuzz/test_fuzz_api.py, a fixed budget) and bench/fuzz.py
(longer runs). Requests go through Django's WSGI handler with werkzeug's client, as a
real server would run them, without a socket: the time goes to the application.
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client

import espace_sante
from tests.fhir.conftest import PDF, Software, document_reference, jwks_of, new_key
from tests.fhir.test_appointment import appointment

OPENAPI = Path(espace_sante.__file__).parent / "fhir" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HOST = "http://localhost"  # werkzeug's client sends Host: localhost (in ALLOWED_HOSTS)


def load_schema():
    return schemathesis.openapi.from_path(OPENAPI)


def operation_labels(schema) -> list[str]:
    return [result.ok().label for result in schema.get_all_operations()]


def operation(schema, label: str):
    method, path = label.split(" ", 1)
    return schema[path][method]


@dataclass
class Tally:
    """What was sent and what came back, per status."""

    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@dataclass
class Target:
    """The running application, a registered software and real data to aim at."""

    app: object
    software: Software
    patient_id: str = ""
    document_id: str = ""
    master_identifier: str = ""
    appointment_id: str = ""

    def headers(self) -> dict:
        # A new single-use acting assertion each time, as real software sends.
        return {"Authorization": f"Bearer {self.software.token}", **_acting(self.software)}


def _acting(software: Software) -> dict:
    return {"X-Acting-Professional": software.acting()}


def prepare(app, organization, professional, patient) -> Target:
    """Register the software, get its token and deposit one document through the API."""
    from espace_sante.fhir.services import register_software

    key = new_key()
    client = register_software(organization, "Logiciel de fuzzing 1.0", jwks_of(key, "fuzz-1"))
    software = Software(
        HOST,
        client.application.client_id,
        key,
        "fuzz-1",
        professional.rpps,
        professional.profession,
        organization.finess,
    )
    browser = Client(app)
    answer = browser.post(
        "/o/token/",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": software.client_assertion(),
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    software._token = answer.json["access_token"]
    target = Target(app, software, patient_id=str(patient.id))
    resource = document_reference(patient, PDF)
    created = browser.post(
        "/fhir/R4/DocumentReference",
        json=resource,
        headers={**target.headers(), "Content-Type": "application/fhir+json"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    target.document_id = created.json["id"]
    target.master_identifier = resource["masterIdentifier"]["value"]
    booked = browser.post(
        "/fhir/R4/Appointment",
        json=appointment(patient),
        headers={**target.headers(), "Content-Type": "application/fhir+json"},
    )
    assert booked.status_code == 201, booked.get_data(as_text=True)
    target.appointment_id = booked.json["id"]
    return target


def cases(op):
    """Cases that fit the description and cases that do not, with or without credentials,
    half of them aimed at the real patient and document rather than at random ids."""
    return st.tuples(
        st.one_of(
            op.as_strategy(schemathesis.GenerationMode.POSITIVE),
            op.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        ),
        st.booleans(),  # authenticated
        st.booleans(),  # aimed at real data
    )


def aim(case, target: Target) -> None:
    real_id = target.patient_id if "/Patient/" in case.path else target.document_id
    if "/Appointment/" in case.path:
        real_id = target.appointment_id
    if isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        case.path_parameters["id"] = real_id
    if isinstance(case.query, dict):
        if "patient" in case.query:
            case.query["patient"] = target.patient_id
        if "identifier" in case.query and case.method.upper() == "PATCH":
            case.query["identifier"] = f"urn:ietf:rfc:3986|{target.master_identifier}"


def send(case, authenticated: bool, aimed: bool, target: Target, tally: Tally):
    """Send one case, count it, and check it (a 5xx or a non-conforming answer raises)."""
    if aimed:
        aim(case, target)
    headers = target.headers() if authenticated else {}
    started = time.perf_counter()
    response = case.call(app=target.app, headers=headers)
    tally.seconds += time.perf_counter() - started
    tally.statuses[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response
