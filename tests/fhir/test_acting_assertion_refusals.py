"""Every way an acting-professional assertion is refused, one by one: 401, in French.

The expired and replayed assertions are in test_authentication.py too; they are
repeated here so that this file lists every refusal of `X-Acting-Professional`.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from .conftest import assert_outcome, ins_of


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(software, **overrides) -> dict:
    now = int(time.time())
    return {
        "iss": software.client_id,
        "aud": software.fhir,
        "sub": software.rpps,
        "profession": software.profession,
        "organization": software.finess,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    } | overrides


def lookup(software, personas, assertion: str) -> requests.Response:
    return requests.get(
        f"{software.fhir}/Patient",
        params={"identifier": ins_of(personas.mother)},
        headers={
            "Authorization": f"Bearer {software.token}",
            "X-Acting-Professional": assertion,
            "Accept": "application/fhir+json",
        },
        timeout=10,
    )


def test_the_well_formed_assertion_is_accepted(gp_software, personas):
    """The baseline: the refusals below are refusals of what they change, nothing else."""
    assertion = gp_software.sign(claims_of(gp_software))
    assert lookup(gp_software, personas, assertion).status_code == 200


def test_alg_none_is_refused(gp_software, personas):
    header = {"alg": "none", "typ": "JWT", "kid": gp_software.kid}
    unsigned = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_of(gp_software)).encode())}."
    )
    response = lookup(gp_software, personas, unsigned)
    assert_outcome(response, 401, "algorithme « none »", "refusé")


@pytest.mark.parametrize("encoding", ["pem", "jwk"])
def test_hs256_signed_with_the_public_key_is_refused(gp_software, personas, encoding):
    """The classic confusion: HMAC keyed with the public key everybody can read."""
    public = gp_software.key.public_key()
    if encoding == "pem":
        secret = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        from espace_sante.fhir.models import SoftwareClient

        jwks = SoftwareClient.objects.get(application__client_id=gp_software.client_id).jwks
        secret = json.dumps(jwks["keys"][0]).encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": gp_software.kid}
    signing_input = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_of(gp_software)).encode())}"
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    response = lookup(gp_software, personas, f"{signing_input}.{b64(signature)}")
    assert_outcome(response, 401, "algorithme « HS256 »", "refusé")


def test_an_issuer_other_than_the_client_is_refused(gp_software, hospital_software, personas):
    # Signed with the right key, but naming another registered client.
    assertion = gp_software.sign(claims_of(gp_software, iss=hospital_software.client_id))
    assert_outcome(lookup(gp_software, personas, assertion), 401, "autre client (iss)")


@pytest.mark.parametrize(
    "claim", ["iss", "aud", "sub", "profession", "organization", "iat", "exp", "jti"]
)
def test_each_required_claim_missing_is_refused(gp_software, personas, claim):
    claims = claims_of(gp_software)
    del claims[claim]
    response = lookup(gp_software, personas, gp_software.sign(claims))
    assert_outcome(response, 401, f"doit contenir « {claim} »")


@pytest.mark.parametrize("claim", ["sub", "profession", "organization", "jti"])
def test_each_required_claim_empty_is_refused(gp_software, personas, claim):
    response = lookup(
        gp_software, personas, gp_software.sign(claims_of(gp_software, **{claim: ""}))
    )
    assert_outcome(response, 401, "jti" if claim == "jti" else f"doit contenir « {claim} »")


def test_an_unknown_kid_is_refused(gp_software, personas):
    assertion = gp_software.sign(claims_of(gp_software), kid="cle-inconnue")
    assert_outcome(
        lookup(gp_software, personas, assertion), 401, "clé « cle-inconnue » n'est pas enregistrée"
    )


def test_an_over_long_jti_is_refused(gp_software, personas):
    assertion = gp_software.sign(claims_of(gp_software, jti="x" * 201))
    assert_outcome(lookup(gp_software, personas, assertion), 401, "200 caractères au plus")


def test_a_replayed_jti_is_refused(gp_software, personas):
    jti = str(uuid.uuid4())
    assert lookup(gp_software, personas, gp_software.sign(claims_of(gp_software, jti=jti))).ok
    # A new signature, a new date, the same jti: still a replay.
    again = gp_software.sign(claims_of(gp_software, jti=jti, iat=int(time.time()) + 1))
    assert_outcome(lookup(gp_software, personas, again), 401, "rejeu")


def test_an_expired_assertion_is_refused(gp_software, personas):
    past = int(time.time()) - 600
    assertion = gp_software.sign(claims_of(gp_software, iat=past, exp=past + 60))
    assert_outcome(lookup(gp_software, personas, assertion), 401, "expiré")
