"""Every route of the site, tried by the wrong people: refused, and nothing leaks.

The routes are read from the URL configuration and each one must be listed in
ROUTES with the door it belongs to, so a new page fails here until someone says
who may open it (and the walker knows how to fill its parameters). Real
identifiers of Marie's objects fill the parameters. Expectations come from
docs/domain/access.md and the README: deny by default; not allowed looks like not
found (404, traced); operators never reach health data; the citizen pages are the
patient's side and the portal (/pro/) the professionals', where a professional
reaches a record only with a reason, never when blocked.
"""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver
from django.utils import timezone

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import services as agenda_services
from espace_sante.identity import services as identity
from espace_sante.identity.models import User
from espace_sante.messaging import services as messaging
from espace_sante.pharmacy import services as pharmacy
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from espace_sante.record.profile import services as profile_services
from tests.personas import make_blocked_professional, make_professional
from tests.signin import OPERATOR_TOTP_SECRET, sign_in_with_totp

from .record.conftest import make_pdf

pytestmark = pytest.mark.django_db

# The doors of the site, as the rules name who may go through them.
PUBLIC = "public"  # anyone, signed in or not (the reason is in PUBLIC_REASONS)
ACCOUNT = "account"  # any signed-in account, about itself only: anonymous goes to sign in
CITIZEN = "citizen"  # the citizen's own space (the space shown is theirs, or ?espace=)
PATIENT = "patient"  # a citizen page naming a patient or one of their objects
PRO = "pro"  # the portal, about the professional's own work
PRO_PATIENT = "pro-patient"  # the portal, naming a patient's document, message or order
# The portal page of a patient found by INS search, and writing to them: a
# professional without a reason sees who the patient is (to record a consent,
# declare care or open an emergency access), never their health data.
PRO_IDENTITY = "pro-identity"
# What gives a professional a reason (consent, care, emergency) or adds to the
# record (a deposit: allowed even blocked). POST only.
PRO_REASON = "pro-reason"
OPERATOR = "operator"  # the console: operators only, never health data
FHIR = "fhir"  # professionals' software and apps, with a token only

ROUTES = {
    # Health and the sign-in pages are open to everyone.
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "comptes/login/": PUBLIC,
    "comptes/logout/": PUBLIC,
    "comptes/inactive/": PUBLIC,
    "comptes/signup/": PUBLIC,
    "comptes/reauthenticate/": ACCOUNT,
    "comptes/email/": ACCOUNT,
    "comptes/confirm-email/": PUBLIC,
    "comptes/password/change/": ACCOUNT,
    "comptes/password/set/": ACCOUNT,
    "comptes/password/reset/": PUBLIC,
    "comptes/login/code/confirm/": PUBLIC,
    "comptes/confirm-email/<key>/": PUBLIC,
    "comptes/password/reset/key/done/": PUBLIC,
    "comptes/password/reset/key/<uidb36>-<key>/": PUBLIC,
    "comptes/password/reset/done/": PUBLIC,
    "comptes/2fa/": ACCOUNT,
    "comptes/2fa/authenticate/": PUBLIC,
    "comptes/2fa/reauthenticate/": ACCOUNT,
    "comptes/2fa/totp/activate/": ACCOUNT,
    "comptes/2fa/totp/deactivate/": ACCOUNT,
    "comptes/2fa/recovery-codes/": ACCOUNT,
    "comptes/2fa/recovery-codes/generate/": ACCOUNT,
    "comptes/2fa/recovery-codes/download/": ACCOUNT,
    "comptes/3rdparty/login/cancelled/": PUBLIC,
    "comptes/3rdparty/login/error/": PUBLIC,
    "comptes/3rdparty/signup/": PUBLIC,
    "comptes/3rdparty/": ACCOUNT,
    "comptes/social/login/cancelled/": PUBLIC,
    "comptes/social/login/error/": PUBLIC,
    "comptes/social/signup/": PUBLIC,
    "comptes/social/connections/": PUBLIC,
    "comptes/oidc/<provider_id>/login/": PUBLIC,
    "comptes/oidc/<provider_id>/login/callback/": PUBLIC,
    # django-oauth-toolkit: OAuth2 / OpenID Connect endpoints for software and apps.
    "o/.well-known/oauth-authorization-server": PUBLIC,
    "o/.well-known/oauth-authorization-server/<path:issuer_path>": PUBLIC,
    "o/.well-known/oauth-protected-resource": PUBLIC,
    "o/.well-known/oauth-protected-resource/<path:resource_path>": PUBLIC,
    "o/authorize/": ACCOUNT,
    "o/token/": PUBLIC,
    "o/revoke_token/": PUBLIC,
    "o/introspect/": PUBLIC,
    "o/device-authorization/": PUBLIC,
    "o/device/": ACCOUNT,
    "o/device-confirm/<slug:client_id>/<slug:user_code>": ACCOUNT,
    "o/device-grant-status/<slug:client_id>/<slug:user_code>": ACCOUNT,
    "o/.well-known/openid-configuration": PUBLIC,
    "o/.well-known/jwks.json": PUBLIC,
    "o/userinfo/": PUBLIC,
    "o/logout/": PUBLIC,
    # The citizen's space.
    "documents/": CITIZEN,
    "documents/ajouter/": CITIZEN,
    "documents/<uuid:document_id>/": PATIENT,
    "documents/<uuid:document_id>/contenu/": PATIENT,
    "documents/<uuid:document_id>/telecharger/": PATIENT,
    "documents/<uuid:document_id>/modifier/": PATIENT,
    "documents/<uuid:document_id>/masquer/": PATIENT,
    "documents/<uuid:document_id>/supprimer/": PATIENT,
    "messagerie/ordonnance/": CITIZEN,
    "messagerie/": CITIZEN,
    "messagerie/<uuid:conversation_id>/": PATIENT,
    "messagerie/<uuid:conversation_id>/repondre/": PATIENT,
    "messagerie/<uuid:conversation_id>/supprimer/": PATIENT,
    "messagerie/pieces-jointes/<uuid:attachment_id>/": PATIENT,
    "messagerie/pieces-jointes/<uuid:attachment_id>/ajouter-aux-documents/": PATIENT,
    "profil/": CITIZEN,
    "agenda/bilan-prevention/": CITIZEN,
    "agenda/bilan-prevention/<str:band>/": CITIZEN,
    "agenda/bilan-prevention/<str:band>/etape/<int:number>/": CITIZEN,
    "agenda/bilan-prevention/<str:band>/termine/": CITIZEN,
    "agenda/": CITIZEN,
    "agenda/mois/<str:month>/": CITIZEN,
    "agenda/rendez-vous/nouveau/": CITIZEN,
    "agenda/rendez-vous/<uuid:appointment_id>/modifier/": PATIENT,
    "agenda/rendez-vous/<uuid:appointment_id>/annuler/": PATIENT,
    "agenda/rendez-vous/<uuid:appointment_id>.ics": PATIENT,
    "agenda/prevention/": CITIZEN,
    "agenda/prevention/fait/": CITIZEN,
    "agenda/prevention/choix/": CITIZEN,
    "agenda/prevention/activation/": CITIZEN,
    "agenda/prevention/grossesse/": CITIZEN,
    "agenda/calendrier/": CITIZEN,
    "agenda/calendrier/<uuid:feed_id>/<str:token>.ics": PUBLIC,
    "profil/<uuid:patient_id>/": PATIENT,
    "profil/<uuid:patient_id>/synthese.pdf": PATIENT,
    "profil/<uuid:patient_id>/synthese/enregistrer/": PATIENT,
    "profil/<uuid:patient_id>/mesures/": PATIENT,
    "profil/<uuid:patient_id>/mesures/<slug:slug>/": PATIENT,
    "profil/<uuid:patient_id>/mesures/<slug:slug>/objectif/": PATIENT,
    "profil/<uuid:patient_id>/mesures/<slug:slug>/<uuid:measure_id>/supprimer/": PATIENT,
    "profil/<uuid:patient_id>/<slug:slug>/": PATIENT,
    "profil/<uuid:patient_id>/<slug:slug>/ajouter/": PATIENT,
    "profil/<uuid:patient_id>/<slug:slug>/modifier/": PATIENT,
    "profil/<uuid:patient_id>/<slug:slug>/effacer/": PATIENT,
    "profil/<uuid:patient_id>/<slug:slug>/<uuid:entry_id>/modifier/": PATIENT,
    "profil/<uuid:patient_id>/<slug:slug>/<uuid:entry_id>/supprimer/": PATIENT,
    "parametres/confidentialite/": CITIZEN,
    "parametres/confidentialite/<uuid:patient_id>/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/bloquer/<uuid:professional_id>/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/debloquer/<uuid:professional_id>/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/consentement/<uuid:professional_id>/retirer/": (
        PATIENT
    ),
    "parametres/confidentialite/<uuid:patient_id>/roles/ajouter/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/roles/<uuid:professional_id>/retirer/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/nouveaux-documents/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/tout-masquer/": PATIENT,
    "parametres/confidentialite/<uuid:patient_id>/urgences/": PATIENT,
    "parametres/": CITIZEN,
    "parametres/historique/": CITIZEN,
    "parametres/historique/<uuid:entry_id>/signaler/": PATIENT,
    "parametres/notifications/": CITIZEN,
    "parametres/fermeture/": CITIZEN,
    "parametres/fermeture/confirmer/": CITIZEN,
    # The professionals' portal.
    "pro/messagerie/": PRO,
    "pro/messagerie/ecrire/<uuid:patient_id>/": PRO_IDENTITY,
    "pro/messagerie/<uuid:conversation_id>/": PRO_PATIENT,
    "pro/messagerie/<uuid:conversation_id>/repondre/": PRO_PATIENT,
    "pro/messagerie/<uuid:conversation_id>/fermer/": PRO_PATIENT,
    "pro/messagerie/pieces-jointes/<uuid:attachment_id>/": PRO_PATIENT,
    "pro/pharmacie/": PRO,
    "pro/pharmacie/<uuid:order_id>/statut/": PRO_PATIENT,
    "pro/": PRO,
    "pro/compte/": PRO,
    "pro/patients/<uuid:patient_id>/": PRO_IDENTITY,
    "pro/patients/<uuid:patient_id>/consentement/": PRO_REASON,
    "pro/patients/<uuid:patient_id>/equipe-de-soins/": PRO_REASON,
    "pro/patients/<uuid:patient_id>/urgence/": PRO_REASON,
    "pro/patients/<uuid:patient_id>/deposer/": PRO_REASON,
    "pro/patients/<uuid:patient_id>/rendez-vous/": PRO_REASON,
    "pro/patients/<uuid:patient_id>/rendez-vous/<uuid:appointment_id>/annuler/": PRO_REASON,
    "pro/documents/<uuid:document_id>/": PRO_PATIENT,
    "pro/documents/<uuid:document_id>/retirer/": PRO_PATIENT,
    # The operators' console.
    "operateur/": OPERATOR,
    "operateur/personnes/": OPERATOR,
    "operateur/personnes/<uuid:person_id>/": OPERATOR,
    "operateur/personnes/<uuid:person_id>/<slug:action>/": OPERATOR,
    "operateur/campagnes/<uuid:campaign_id>/": OPERATOR,
    "operateur/campagnes/<uuid:campaign_id>/import/": OPERATOR,
    "operateur/campagnes/<uuid:campaign_id>/invitations/": OPERATOR,
    "operateur/campagnes/<uuid:campaign_id>/courriers/<uuid:batch_id>.pdf": OPERATOR,
    "operateur/campagnes/<uuid:campaign_id>/imports/<uuid:report_id>/lignes-refusees.csv": (
        OPERATOR
    ),
    # Enrollment: the public pages of a person without an account yet.
    "activer/": PUBLIC,
    "activer/compte/": PUBLIC,
    "opposition/": PUBLIC,
    "opposition/enregistree/": PUBLIC,
    "opposition/recepisse.pdf": PUBLIC,
    "nouveau-code/": PUBLIC,
    "espace-ferme/": PUBLIC,
    # The FHIR door.
    "fhir/R4/": FHIR,
    "fhir/R4/metadata": PUBLIC,
    "fhir/R4/List": FHIR,
    "fhir/R4/DocumentReference": FHIR,
    "fhir/R4/DocumentReference/_search": FHIR,
    "fhir/R4/DocumentReference/<resource_id>": FHIR,
    "fhir/R4/DocumentReference/<resource_id>/_history/<version>": FHIR,
    "fhir/R4/Binary/<resource_id>": FHIR,
    "fhir/R4/Patient": FHIR,
    "fhir/R4/Patient/<resource_id>": FHIR,
    "fhir/R4/AuditEvent": FHIR,
    "fhir/R4/Communication": FHIR,
    "fhir/R4/Communication/<resource_id>": FHIR,
    "fhir/R4/Appointment": FHIR,
    "fhir/R4/Appointment/<resource_id>": FHIR,
    "fhir/R4/Appointment/<resource_id>/_history/<version>": FHIR,
    "fhir/R4/<rest>": PUBLIC,
    # The site's own pages.
    "": ACCOUNT,
    "espace/<slug:slug>/": ACCOUNT,
}

PUBLIC_REASONS = {
    "healthz": "liveness probe, no data",
    "readyz": "readiness probe, no data",
    "agenda/calendrier/<uuid:feed_id>/<str:token>.ics": "a calendar app's feed: the secret "
    "in the address stands for the person (unknown, wrong or revoked: 404)",
    "fhir/R4/metadata": "the CapabilityStatement is public in FHIR, no data",
    "fhir/R4/<rest>": "what the API does not serve: a 404 OperationOutcome, before any data",
    "activer/": "activation by provisional code: the person has no account yet",
    "activer/compte/": "second step of the activation, guarded by the code in the session",
    "opposition/": "objection before creation: the person has no account",
    "opposition/enregistree/": "the objection's confirmation, from the session",
    "opposition/recepisse.pdf": "the objection's receipt, from the session",
    "nouveau-code/": "a new code sent to the contact on file, same answer for anyone",
    "espace-ferme/": "tells a closed account how to reopen",
}
# allauth's and django-oauth-toolkit's own endpoints: the sign-in flow, and OAuth2
# endpoints that authenticate the client or the token themselves.
PUBLIC_LIBRARY_PREFIXES = ("comptes/", "o/")

# A refusal: forbidden, not found (not allowed looks like not found), or a method
# the route does not serve.
REFUSED = (403, 404, 405)
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)")
# Written into Marie's record: none of them may appear in a refused page.
SECRETS = ("Bilan-secret-4417", "Iode-secret-4417", "Sujet-secret-4417", "Corps-secret-4417")


def readable(route: str) -> str:
    """``^Binary/(?P<resource_id>…)$`` → ``Binary/<resource_id>``."""
    route = NAMED_GROUP.sub(r"<\1>", route)
    return route.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")


def all_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield readable(prefix + str(pattern.pattern))

    return [route for route in walk(get_resolver().url_patterns) if not route.startswith("admin/")]


def routes_of(*kinds: str) -> list[str]:
    return [route for route in all_routes() if ROUTES.get(route) in kinds]


def test_every_route_says_who_may_open_it():
    routes = all_routes()
    unknown = [route for route in routes if route not in ROUTES]
    assert not unknown, f"Routes without a door in ROUTES (say who may open them): {unknown}"
    gone = set(ROUTES) - set(routes)
    assert not gone, f"ROUTES lists routes that no longer exist: {sorted(gone)}"
    for route in routes_of(PUBLIC):
        assert route in PUBLIC_REASONS or route.startswith(PUBLIC_LIBRARY_PREFIXES), route


@pytest.fixture
def marie_objects(personas):
    marie = actor_for_user(personas.mother.user)
    document = record.add_document(
        marie,
        personas.mother,
        SimpleUploadedFile("b.pdf", make_pdf()),
        record.NewDocument(title=SECRETS[0], type_code="DOCPAT05", source="patient"),
    )
    entry = profile_services.add_entry(
        marie, personas.mother, "allergies", {"substance": SECRETS[1]}
    )
    measure = profile_services.add_measure(
        marie, personas.mother, "29463-7", {"value": "61,5", "date": "2025-02-03"}
    )
    conversation = messaging.start_conversation(
        actor_for_user(personas.gp.user, organization_id=personas.gp.roles.get().organization_id),
        personas.mother,
        subject=SECRETS[2],
        body=SECRETS[3],
        attachments=[SimpleUploadedFile("r.pdf", make_pdf())],
    )
    order = pharmacy.send_prescription(
        marie,
        personas.mother,
        personas.pharmacist.roles.get().organization,
        document_id=document.id,
    )
    appointment = agenda_services.add_appointment(
        marie,
        personas.mother,
        {"starts_at": timezone.now() + timedelta(days=3), "reason": SECRETS[1]},
    )
    audit_entry = AuditEntry.objects.filter(patient_id=personas.mother.id).first()
    return {
        "month": "2026-12",
        "feed_id": uuid.uuid4(),
        "token": "secret-inconnu",
        "patient_id": personas.mother.id,
        "person_id": personas.mother.id,
        "document_id": document.id,
        "resource_id": document.id,
        "version": "1",
        "entry_id": entry.id,
        "measure_id": measure.id,
        "conversation_id": conversation.id,
        "appointment_id": appointment.id,
        "attachment_id": conversation.messages.get().attachments.get().id,
        "order_id": order.id,
        "professional_id": personas.gp.id,
        "audit_entry_id": audit_entry.id,
        "slug": "allergies",
        "band": "18-25",
        "number": 1,
        # The console's objects: the console refuses before it looks anything up.
        "campaign_id": uuid.uuid4(),
        "batch_id": uuid.uuid4(),
        "report_id": uuid.uuid4(),
        "action": "suspendre",
        # Library routes: values of the right shape, none of them valid.
        "key": "cle-inconnue",
        "uidb36": "1",
        "provider_id": "psc",
        "issuer_path": "x",
        "resource_path": "x",
        "client_id": "x",
        "user_code": "x",
        "pk": "1",
        "rest": "Observation",
    }


def fill(route: str, values: dict) -> str:
    def value(match):
        name = match.group(2)
        if name == "slug" and "mesures/" in route:
            return "poids"
        if name == "slug" and route.startswith("espace/"):
            return "documents"
        if name == "entry_id" and route.startswith("parametres/historique/"):
            return str(values["audit_entry_id"])  # a real entry of Marie's trail
        if name == "resource_id" and "/Patient/" in route:
            return str(values["patient_id"])
        if name == "resource_id" and "/Communication/" in route:
            return str(values["conversation_id"])
        if name == "resource_id" and "/Appointment/" in route:
            return str(values["appointment_id"])
        return str(values[name])  # a KeyError: teach the walker this parameter

    return "/" + PARAM.sub(value, route)


def snapshot():
    return sorted(
        Document.objects.values_list("id", "masked_from_professionals", "status", "title_encrypted")
    )


def body(response) -> str:
    if response.streaming:
        return ""  # a refusal is never streamed: the status check catches a streamed leak
    return response.content.decode(errors="replace")


def assert_refused(client, routes, values, *, methods=("get", "post")):
    """Every route refuses ``client``, shows none of Marie's secrets and changes nothing."""
    before = snapshot()
    for route in routes:
        url = fill(route, values)
        for method in methods:
            # A valid form, so that the view goes as far as deciding who acts.
            response = getattr(client, method)(url, {"justification": "Urgence vitale"})
            assert response.status_code in REFUSED, (
                f"{method.upper()} {url} → {response.status_code}"
            )
            assert not any(secret in body(response) for secret in SECRETS), url
    assert snapshot() == before


def assert_no_secret(client, routes, values):
    """The page may answer, never with Marie's health data."""
    for route in routes:
        url = fill(route, values)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code < 500, f"{method.upper()} {url} → {response.status_code}"
            assert not any(secret in body(response) for secret in SECRETS), url


def signed_in(user, password: str, secret: str = OPERATOR_TOTP_SECRET) -> Client:
    return sign_in_with_totp(Client(), user, password, secret)


def professional_client(professional) -> Client:
    password = "Mot-de-passe-pro-2026"
    user = identity.open_account(professional, f"{professional.rpps}@pro.test", password)
    return signed_in(user, password)


@pytest.fixture
def operator_client(db) -> Client:
    password = "Console-operateur-2026"
    user = User.objects.create_user("operateur@exemple.test", password, kind=User.Kind.OPERATOR)
    return signed_in(user, password)


def test_marie_sees_her_secrets_so_the_leak_checks_mean_something(client, personas, marie_objects):
    client.force_login(personas.mother.user)
    pages = (
        f"/documents/{marie_objects['document_id']}/",
        f"/profil/{personas.mother.id}/allergies/",
        f"/messagerie/{marie_objects['conversation_id']}/",
    )
    shown = "".join(body(client.get(page)) for page in pages)
    assert all(secret in shown for secret in SECRETS)


def test_a_signed_out_visitor_is_sent_to_sign_in(client, marie_objects):
    signed_in_only = routes_of(ACCOUNT, CITIZEN, PATIENT, PRO, PRO_PATIENT, PRO_IDENTITY)
    signed_in_only += routes_of(PRO_REASON, OPERATOR)
    assert len(signed_in_only) >= 85
    for route in signed_in_only:
        url = fill(route, marie_objects)
        response = client.get(url)
        assert response.status_code in (302, 405), f"{url} → {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/comptes/login/"), url


def test_public_pages_answer_a_signed_out_visitor(client, marie_objects):
    for route in routes_of(PUBLIC):
        url = fill(route, marie_objects)
        response = client.get(url)
        assert response.status_code < 500, f"{url} → {response.status_code}"
        assert not response.get("Location", "").startswith("/comptes/login/?next="), url


VALID_FIELDS = {"Communication": {"status": "in-progress"}}


def test_the_fhir_door_needs_a_token_even_with_a_citizen_session(client, personas, marie_objects):
    anonymous = Client()
    client.force_login(personas.mother.user)  # a session is not a token
    for route in routes_of(FHIR):
        url = fill(route, marie_objects)
        resource = url.split("/R4/")[1].split("/")[0] or "Bundle"
        # A valid resource: the Communication door parses the body before it authenticates.
        payload = json.dumps({"resourceType": resource, **VALID_FIELDS.get(resource, {})})
        for who in (anonymous, client):
            statuses = set()
            for response in (
                who.get(url),
                who.post(url, payload, content_type="application/fhir+json"),
            ):
                statuses.add(response.status_code)
                # 405: the route does not serve this method (the base takes POST only).
                assert response.status_code in (401, 405), f"{url} → {response.status_code}"
                assert response.json()["resourceType"] == "OperationOutcome", url
                assert not any(secret in body(response) for secret in SECRETS), url
                if response.status_code == 401:
                    assert response["WWW-Authenticate"].startswith("Bearer"), url
            assert 401 in statuses, url


def test_another_citizen_gets_404_on_every_page_of_someone_elses_space(
    client, personas, marie_objects
):
    client.force_login(personas.elder.user)
    assert_refused(client, routes_of(PATIENT), marie_objects)


def test_a_citizen_is_refused_the_portal_and_the_console(client, personas, marie_objects):
    client.force_login(personas.mother.user)  # even about her own record
    assert_refused(
        client, routes_of(PRO, PRO_PATIENT, PRO_IDENTITY, PRO_REASON, OPERATOR), marie_objects
    )


def test_a_professional_is_refused_the_citizen_pages_and_the_console(personas, marie_objects):
    stranger = professional_client(make_professional(last_name="Inconnu"))
    assert_refused(stranger, routes_of(CITIZEN, PATIENT, OPERATOR), marie_objects)
    gp = signed_in(personas.gp.user, personas.password, personas.totp_secret)  # her doctor
    assert_refused(gp, routes_of(CITIZEN, OPERATOR), marie_objects)


def test_the_citizen_pages_of_a_record_refuse_even_her_doctor(personas, marie_objects):
    gp = signed_in(personas.gp.user, personas.password, personas.totp_secret)
    assert_refused(gp, routes_of(PATIENT), marie_objects)


def test_an_operator_never_reaches_health_pages(operator_client, marie_objects):
    health = routes_of(CITIZEN, PATIENT, PRO, PRO_PATIENT, PRO_IDENTITY, PRO_REASON)
    assert_refused(operator_client, health, marie_objects)


def test_a_professional_without_a_reason_is_refused_every_page_of_the_record(
    personas, marie_objects
):
    stranger = professional_client(make_professional(last_name="Inconnu"))
    before = AuditEntry.objects.filter(patient_id=personas.mother.id, outcome="denied").count()
    assert_refused(stranger, routes_of(PRO_PATIENT), marie_objects)
    assert_no_secret(stranger, routes_of(PRO, PRO_IDENTITY), marie_objects)
    # Posting to PRO_REASON would give him a reason (consent, care, emergency): a
    # right of any professional, tested in tests/portal.
    assert_refused(stranger, routes_of(PRO_REASON), marie_objects, methods=("get",))
    after = AuditEntry.objects.filter(patient_id=personas.mother.id, outcome="denied").count()
    assert after > before  # the refusals are in Marie's history


def test_a_professional_refused_a_document_is_in_the_patients_history(personas, marie_objects):
    stranger = make_professional(last_name="Inconnu")
    client = professional_client(stranger)
    assert client.get(f"/pro/documents/{marie_objects['document_id']}/").status_code == 404
    assert AuditEntry.objects.filter(
        patient_id=personas.mother.id,
        actor_professional_id=stranger.id,
        object_id=marie_objects["document_id"],
        outcome="denied",
    ).exists()


def test_nobody_registers_an_oauth_client_outside_the_admin(client, personas):
    """Clients are registered by operators in the admin: the library's pages are not served."""
    client.force_login(personas.mother.user)
    for path in ("applications/", "applications/register/", "authorized_tokens/", "register/"):
        assert client.get(f"/o/{path}").status_code == 404, path


def test_a_blocked_professional_is_refused_every_page_of_the_record(personas, marie_objects):
    blocked = make_blocked_professional(personas.mother, last_name="Bloqué")
    client = professional_client(blocked)
    # He tries to get a reason back first: consent, care, emergency all refused.
    for route in ("consentement/", "equipe-de-soins/", "urgence/"):
        client.post(
            f"/pro/patients/{personas.mother.id}/{route}", {"justification": "Urgence vitale"}
        )
    assert_refused(client, routes_of(PRO_PATIENT), marie_objects)
    assert_no_secret(client, routes_of(PRO, PRO_IDENTITY, PRO_REASON), marie_objects)
    assert AuditEntry.objects.filter(
        patient_id=personas.mother.id, actor_professional_id=blocked.id, outcome="denied"
    ).exists()
