"""Push a PDF into the demo patient's espace santé, as professional software would.

An independent client: it speaks only HTTP (OAuth2 + FHIR R4 through fhirpy)
and signs its own JWTs with the private key of its installation. With
``make run`` serving the demo in another terminal:

    .venv/bin/python examples/push_document.py                # a generated PDF
    .venv/bin/python examples/push_document.py compte-rendu.pdf --title "CR de consultation"

The installation's key and client id come from
``var/fhir-clients/<FINESS>.json``, written by ``espace-sante fhir_demo_clients``
(``make run`` runs it). By default it acts as Dr Claire Martin, Cabinet
médical du Parc, for Marie Durand; she then sees the document in « Documents ».
"""

import argparse
import base64
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import jwt
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "var" / "fhir-clients" / "310001235.json"
MARIE_DURAND_INS = "urn:oid:1.2.250.1.213.1.4.11|288033155512345"  # demo NIR OID
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def sample_pdf(title: str) -> bytes:
    """A one-page PDF saying ``title`` (hand-built: no PDF library needed)."""
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 60 760 Td (" + text + b") Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class Installation:
    """The software installation: its key, its client id, the professional at the keyboard."""

    def __init__(self, config: dict):
        self.config = config
        self.key = Path(config["private_key_file"]).read_bytes()
        self.token = ""

    def _sign(self, claims: dict) -> str:
        now = int(time.time())
        claims = {"iat": now, "exp": now + 60, "jti": str(uuid.uuid4()), **claims}
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.config["kid"]})

    def fetch_token(self) -> str:
        """OAuth2 client credentials, authenticated by a signed JWT (private_key_jwt)."""
        assertion = self._sign(
            {
                "iss": self.config["client_id"],
                "sub": self.config["client_id"],
                "aud": self.config["token_url"],
            }
        )
        response = requests.post(
            self.config["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            },
            timeout=30,
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        return self.token

    def acting_professional(self) -> str:
        """Who is at the keyboard, signed again for every request (single-use, 1 minute)."""
        return self._sign(
            {
                "iss": self.config["client_id"],
                "aud": self.config["fhir_base"],
                "sub": self.config["professional_rpps"],
                "profession": self.config["professional_profession"],
                "organization": self.config["organization_finess"],
            }
        )

    def fhir(self) -> SyncFHIRClient:
        return SyncFHIRClient(
            self.config["fhir_base"],
            authorization=f"Bearer {self.token or self.fetch_token()}",
            extra_headers=_FreshAssertion(self),
        )


class _FreshAssertion(Mapping):
    """fhirpy reads its extra headers at every request: each gets a new assertion."""

    def __init__(self, installation: Installation):
        self.installation = installation

    def __getitem__(self, name):
        if name != "X-Acting-Professional":
            raise KeyError(name)
        return self.installation.acting_professional()

    def __iter__(self):
        return iter(["X-Acting-Professional"])

    def __len__(self):
        return 1


def document_reference(data: bytes, title: str, patient_ins: str) -> dict:
    """ITI-105: the metadata and the file, base64-encoded, in one DocumentReference."""
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "11488-4",
                    "display": "Compte rendu de consultation",
                }
            ]
        },
        "subject": {"reference": f"Patient?identifier={patient_ins}"},
        "description": title,
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
                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324 - MHD
                    "title": title,
                    "creation": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                "format": {
                    "system": "urn:oid:1.2.250.1.213.1.1.4.2.282",
                    "code": "urn:ihe:iti:xds-sd:pdf:2008",
                },
            }
        ],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", help="le PDF à déposer (par défaut, un PDF généré)")
    parser.add_argument("--title", default="Compte rendu de consultation")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--patient", default=MARIE_DURAND_INS, help="INS : urn:oid:…|NIR")
    args = parser.parse_args(argv)

    config_path = Path(args.config)
    if not config_path.exists():
        print(
            f"Configuration introuvable : {config_path}. Lancez d'abord "
            "« .venv/bin/espace-sante fhir_demo_clients » (make run le fait).",
            file=sys.stderr,
        )
        return 2
    installation = Installation(json.loads(config_path.read_text(encoding="utf-8")))
    data = Path(args.pdf).read_bytes() if args.pdf else sample_pdf(args.title)
    try:
        client = installation.fhir()
    except requests.ConnectionError:
        print(
            f"Le serveur ne répond pas à {installation.config['token_url']} : lancez "
            "« make run » dans un autre terminal.",
            file=sys.stderr,
        )
        return 2
    except requests.HTTPError as refused:
        print(f"Jeton refusé : {refused.response.text}", file=sys.stderr)
        return 1
    resource = client.resource(
        "DocumentReference", **document_reference(data, args.title, args.patient)
    )
    try:
        resource.save()
    except OperationOutcome as refused:
        print(f"Dépôt refusé : {refused}", file=sys.stderr)
        return 1
    print(f"Document déposé : {installation.config['fhir_base']}/DocumentReference/{resource.id}")
    print(f"  statut {resource['status']}, {resource['content'][0]['attachment']['size']} octets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
