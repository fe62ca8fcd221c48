"""Professional software as an outsider writes it: its own key, JWTs, HTTP calls.

The server runs for real (``live_server``); requests go over HTTP with
``requests`` (raw) or fhirpy (an independent FHIR client).
"""

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from fhirpy import SyncFHIRClient

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwks_of(key, kid: str) -> dict:
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "ES256"}]}


@dataclass
class Software:
    """One installation: its key, its client id, and the professional at the keyboard."""

    base: str  # server root, e.g. http://localhost:1234
    client_id: str
    key: object
    kid: str
    rpps: str
    profession: str
    finess: str
    access_mode: str = ""
    justification: str = ""
    _token: str = field(default="", repr=False)

    @property
    def fhir(self) -> str:
        return f"{self.base}/fhir/R4"

    def sign(self, claims: dict, key=None, kid=None) -> str:
        return jwt.encode(
            claims, key or self.key, algorithm="ES256", headers={"kid": kid or self.kid}
        )

    def client_assertion(self, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": f"{self.base}/o/token/",
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
        } | overrides
        return self.sign(claims)

    def request_token(self, assertion: str | None = None) -> requests.Response:
        return requests.post(
            f"{self.base}/o/token/",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion or self.client_assertion(),
            },
            timeout=10,
        )

    @property
    def token(self) -> str:
        if not self._token:
            response = self.request_token()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def acting(self, key=None, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "aud": self.fhir,
            "sub": self.rpps,
            "profession": self.profession,
            "organization": self.finess,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        if self.access_mode:
            claims["access_mode"] = self.access_mode
        if self.justification:
            claims["justification"] = self.justification
        return self.sign(claims | overrides, key=key)

    def headers(self, **overrides) -> dict:
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Acting-Professional": self.acting(**overrides),
            "Accept": "application/fhir+json",
        }

    def get(self, path: str, params=None, accept=None, **overrides) -> requests.Response:
        headers = self.headers(**overrides)
        if accept:
            headers["Accept"] = accept
        return requests.get(f"{self.fhir}/{path}", params=params, headers=headers, timeout=30)

    def post(self, path: str, body, headers=None, **overrides) -> requests.Response:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return requests.post(
            f"{self.fhir}/{path}",
            data=data,
            headers={
                **self.headers(**overrides),
                "Content-Type": "application/fhir+json",
                **(headers or {}),
            },
            timeout=30,
        )

    def fhirpy(self) -> SyncFHIRClient:
        return SyncFHIRClient(
            self.fhir,
            authorization=f"Bearer {self.token}",
            extra_headers=FreshAssertion(self),
        )

    def as_professional(self, professional, finess=None, **kwargs) -> "Software":
        return Software(
            self.base,
            self.client_id,
            self.key,
            self.kid,
            professional.rpps,
            professional.profession,
            finess or self.finess,
            _token=self._token,
            **kwargs,
        )


class FreshAssertion(Mapping):
    """fhirpy's extra headers, with a new single-use acting assertion for every request."""

    def __init__(self, software: Software):
        self.software = software

    def __getitem__(self, name):
        if name == "X-Acting-Professional":
            return self.software.acting()
        raise KeyError(name)

    def __iter__(self):
        return iter(["X-Acting-Professional"])

    def __len__(self):
        return 1


def register(live_server, organization, professional, kid="key-1", **kwargs) -> Software:
    from espace_sante.fhir.services import register_software

    key = new_key()
    client = register_software(organization, "Logiciel de test 1.0", jwks_of(key, kid))
    return Software(
        live_server.url,
        client.application.client_id,
        key,
        kid,
        professional.rpps,
        professional.profession,
        organization.finess,
        **kwargs,
    )


@pytest.fixture(autouse=True)
def _live_database(transactional_db):
    """The server thread must see what the test wrote: no wrapping transaction."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def practice(personas):
    from espace_sante.identity.models import Organization

    return Organization.objects.get(finess="310001235")


@pytest.fixture
def hospital(personas):
    from espace_sante.identity.models import Organization

    return Organization.objects.get(finess="310004569")


@pytest.fixture
def gp_software(live_server, personas, practice) -> Software:
    """Dr Martin's practice software (she is Marie Durand's médecin traitant)."""
    return register(live_server, practice, personas.gp)


@pytest.fixture
def hospital_software(live_server, personas, hospital) -> Software:
    """Dr Benali's hospital software: no relation to Marie Durand until one is asserted."""
    return register(live_server, hospital, personas.hospital_doctor)


def ins_of(person) -> str:
    return f"urn:oid:{person.ins_system}|{person.ins_matricule}"


def document_reference(
    person, data: bytes = PDF, type_code="11490-0", system="http://loinc.org", **extra
) -> dict:
    resource = {
        "resourceType": "DocumentReference",
        "status": "current",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": {"coding": [{"system": system, "code": type_code}]},
        "subject": {"reference": f"Patient?identifier={ins_of(person)}"},
        "description": "Compte rendu de consultation",
        "securityLabel": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                        "code": "N",
                    }
                ]
            }
        ],
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "fr-FR",
                    "data": base64.b64encode(data).decode(),
                    "size": len(data),
                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324
                    "title": "Compte rendu de consultation",
                    "creation": "2026-11-20T10:00:00+01:00",
                }
            }
        ],
    }
    resource.update(extra)
    return resource


def assert_outcome(response, status: int, *words: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    diagnostics = body["issue"][0]["diagnostics"]
    for word in words:
        assert word in diagnostics, diagnostics
    return body
