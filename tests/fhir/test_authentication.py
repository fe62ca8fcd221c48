"""Only registered software, with a fresh signed assertion of a real professional, gets in."""

import time

import requests

from .conftest import assert_outcome, ins_of, new_key


def _lookup(software, **overrides):
    return software.get("Patient", {"identifier": ins_of_mother(software)}, **overrides)


def ins_of_mother(software):
    from espace_sante.identity.models import Person

    return ins_of(Person.objects.get(birth_name="DURAND", first_names="Marie Claire"))


def test_token_needs_a_signature_by_the_registered_key(gp_software):
    assert gp_software.request_token().status_code == 200
    stranger = new_key()
    forged = gp_software.sign(
        {
            "iss": gp_software.client_id,
            "sub": gp_software.client_id,
            "aud": f"{gp_software.base}/o/token/",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": "forged-1",
        },
        key=stranger,
    )
    assert gp_software.request_token(forged).status_code == 401


def test_client_assertion_cannot_be_replayed_nor_last_long(gp_software):
    assertion = gp_software.client_assertion()
    assert gp_software.request_token(assertion).status_code == 200
    assert gp_software.request_token(assertion).status_code == 401
    now = int(time.time())
    long_lived = gp_software.client_assertion(iat=now, exp=now + 3600)
    assert gp_software.request_token(long_lived).status_code == 401
    wrong_audience = gp_software.client_assertion(aud="https://ailleurs.example/token")
    assert gp_software.request_token(wrong_audience).status_code == 401


def test_software_clients_cannot_use_a_secret(gp_software):
    from oauth2_provider.models import get_application_model

    application = get_application_model().objects.get(client_id=gp_software.client_id)
    application.client_secret = "un-secret-connu"  # noqa: S105
    application.save()
    response = requests.post(
        f"{gp_software.base}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(gp_software.client_id, "un-secret-connu"),
        timeout=10,
    )
    assert response.status_code == 401


def test_no_token_no_access(live_server):
    response = requests.get(f"{live_server.url}/fhir/R4/Patient?identifier=x", timeout=10)
    assert_outcome(response, 401, "Jeton d'accès manquant")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = requests.get(
        f"{live_server.url}/fhir/R4/Patient?identifier=x",
        headers={"Authorization": "Bearer n-importe-quoi"},
        timeout=10,
    )
    assert_outcome(bad, 401, "Jeton d'accès invalide")


def test_missing_acting_assertion(gp_software, personas):
    response = requests.get(
        f"{gp_software.fhir}/Patient",
        params={"identifier": ins_of(personas.mother)},
        headers={"Authorization": f"Bearer {gp_software.token}"},
        timeout=10,
    )
    assert_outcome(response, 401, "X-Acting-Professional")


def test_expired_assertion(gp_software, personas):
    past = int(time.time()) - 600
    response = _lookup(gp_software, iat=past, exp=past + 60)
    assert_outcome(response, 401, "expiré")


def test_replayed_assertion(gp_software, personas):
    headers = gp_software.headers()
    url = f"{gp_software.fhir}/Patient"
    params = {"identifier": ins_of(personas.mother)}
    assert requests.get(url, params=params, headers=headers, timeout=10).status_code == 200
    again = requests.get(url, params=params, headers=headers, timeout=10)
    assert_outcome(again, 401, "rejeu")


def test_badly_signed_assertion(gp_software, personas):
    response = _lookup(gp_software, key=new_key())
    assert_outcome(response, 401, "signature")


def test_assertion_for_another_server(gp_software, personas):
    response = _lookup(gp_software, aud="https://autre-serveur.example/fhir")
    assert_outcome(response, 401, "pas destinée à ce serveur")


def test_unknown_professional(gp_software, personas):
    assert_outcome(_lookup(gp_software, sub="10000000008"), 403, "RPPS")


def test_wrong_profession(gp_software, personas):
    assert_outcome(_lookup(gp_software, profession="40"), 403, "profession")


def test_professional_of_another_organisation(gp_software, personas):
    # Dr Benali works at the hospital, not at the practice whose software this is.
    response = _lookup(
        gp_software,
        sub=personas.hospital_doctor.rpps,
        profession=personas.hospital_doctor.profession,
    )
    assert_outcome(response, 403, "n'exerce pas dans la structure")


def test_organisation_claim_must_be_the_software_s(gp_software, personas):
    assert_outcome(_lookup(gp_software, organization="310004569"), 403, "FINESS")


def test_emergency_needs_a_justification(gp_software, personas):
    assert_outcome(_lookup(gp_software, access_mode="emergency"), 403, "justifi")


def test_deactivated_installation_is_refused(gp_software, personas):
    from espace_sante.fhir.models import SoftwareClient

    token = gp_software.token
    SoftwareClient.objects.filter(application__client_id=gp_software.client_id).update(active=False)
    assert token
    assert_outcome(_lookup(gp_software), 403, "logiciel")
