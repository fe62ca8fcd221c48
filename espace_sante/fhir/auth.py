"""Who calls the FHIR API: a software installation, and the professional acting through it.

Each request carries the access token the installation obtained (client
credentials, ``private_key_jwt``) and, in ``X-Acting-Professional``, a JWT
the software signed with the same key asserting who is acting right now:

    iss      the client_id            aud   the FHIR base URL
    sub      RPPS (11 digits, or 8 + RPPS)
    profession  TRE_G15 code (10 médecin, 40 chirurgien-dentiste…)
    organization  FINESS of the installation's organisation
    access_mode   consent | care_team | emergency (bris de glace) | samu, optional
    justification  required for an emergency (shown to the patient)
    iat, exp (5 minutes at most), jti (single-use)

The professional must exist in the directory with that profession and work in
that organisation. The result is the ``policy.Actor`` every service takes.
"""

import threading
from dataclasses import dataclass

from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.settings import oauth2_settings

from espace_sante.access import scopes
from espace_sante.access.grants import app_actor
from espace_sante.access.policy import Actor, ActorKind
from espace_sante.identity.models import Professional, Role

from .assertions import AssertionRefused, verify
from .http import FhirError
from .models import SoftwareClient

ACTING_HEADER = "X-Acting-Professional"
ACCESS_MODES = {
    "consent": "consent",
    "care_team": "care_team",
    "emergency": "btg",
    "emergency_btg": "btg",
    "btg": "btg",
    "samu": "samu",
    "emergency_samu": "samu",
}
# Required in the acting assertion besides the ones every assertion has (iss, aud, iat, exp, jti).
ACTING_CLAIMS = ("sub", "profession", "organization")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="espace-sante FHIR"'}


@dataclass(frozen=True)
class Caller:
    client: SoftwareClient
    professional: Professional
    actor: Actor
    access_mode: str  # "", "consent", "care_team", "btg", "samu"
    justification: str


def _unauthorized(message: str) -> FhirError:
    return FhirError(401, message, code="login", headers=CHALLENGE)


_oauth_lock = threading.Lock()
_oauth_core: tuple[object, object] | None = None


def _oauthlib_core():
    """django-oauth-toolkit's token checker, built once per process (and per settings).

    ``get_oauthlib_core()`` builds oauthlib's server with all its endpoints (two
    of them, in fact) on every call: most of a millisecond per request. The
    server and our validator keep no state between requests, so one serves all
    threads; it is rebuilt when the OAuth settings object changes (tests).
    """
    global _oauth_core
    current = _oauth_core
    if current is None or current[0] is not oauth2_settings.user_settings:
        with _oauth_lock:
            current = (oauth2_settings.user_settings, get_oauthlib_core())
            _oauth_core = current
    return current[1]


def base_urls(request) -> list[str]:
    from django.conf import settings

    here = request.build_absolute_uri("/fhir/R4").rstrip("/")
    site = settings.SITE_URL.rstrip("/") + "/fhir/R4"
    return [here, here + "/", site, site + "/"]


def software_client(request) -> SoftwareClient:
    """The installation whose access token the request carries."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        raise _unauthorized(
            "Jeton d'accès manquant : obtenez-en un auprès de /o/token/ (client_credentials "
            "avec une assertion private_key_jwt) et envoyez-le dans l'en-tête "
            "« Authorization: Bearer … »."
        )
    valid, oauth_request = _oauthlib_core().verify_request(request, scopes=[])
    if not valid:
        raise _unauthorized("Jeton d'accès invalide ou expiré : demandez-en un nouveau.")
    # Loaded with the token (fhir.oauth.SoftwareClientValidator): no query here.
    try:
        client = oauth_request.client.software
    except SoftwareClient.DoesNotExist:
        client = None
    if client is None or not client.active:
        raise FhirError(
            403,
            "Ce client n'est pas enregistré comme logiciel de professionnel de santé.",
            code="forbidden",
        )
    return client


def caller(request) -> Caller:
    """The authenticated installation and acting professional, or a 401/403 outcome."""
    client = software_client(request)
    token = request.headers.get(ACTING_HEADER, "").strip()
    if not token:
        raise _unauthorized(
            f"Assertion du professionnel manquante : envoyez dans l'en-tête « {ACTING_HEADER} » "
            "un JWT signé par le logiciel (sub = RPPS, profession, organization, access_mode)."
        )
    try:
        claims = verify(token, client, base_urls(request), "L'assertion du professionnel")
    except AssertionRefused as exc:
        raise _unauthorized(str(exc)) from None
    for claim in ACTING_CLAIMS:
        # A malformed assertion is not authentication (401), not a refusal of who it names.
        if claims.get(claim) in (None, ""):
            raise _unauthorized(f"L'assertion du professionnel doit contenir « {claim} ».")
    rpps = str(claims.get("sub") or "")
    if len(rpps) == 12 and rpps.startswith("8"):
        rpps = rpps[1:]  # idNat_PS = 8 + RPPS
    # One query on the way everybody takes: the professional through their role here.
    role = (
        Role.objects.select_related("professional")
        .filter(professional__rpps=rpps, organization=client.organization, end_date__isnull=True)
        .first()
    )
    professional = role.professional if role else Professional.objects.filter(rpps=rpps).first()
    if professional is None:
        raise FhirError(
            403,
            f"Aucun professionnel de santé n'a le numéro RPPS « {rpps} » dans l'annuaire.",
            code="forbidden",
        )
    profession = str(claims.get("profession") or "")
    if profession != professional.profession:
        raise FhirError(
            403,
            f"La profession déclarée (« {profession} ») ne correspond pas à celle de "
            f"l'annuaire pour ce professionnel (« {professional.profession} »).",
            code="forbidden",
        )
    finess = str(claims.get("organization") or "")
    if finess != client.organization.finess:
        raise FhirError(
            403,
            f"La structure déclarée (FINESS « {finess} ») n'est pas celle de ce logiciel "
            f"(FINESS « {client.organization.finess} »).",
            code="forbidden",
        )
    if role is None:
        raise FhirError(
            403,
            "Ce professionnel n'exerce pas dans la structure de ce logiciel selon l'annuaire.",
            code="forbidden",
        )
    raw_mode = str(claims.get("access_mode") or "")
    if raw_mode and raw_mode not in ACCESS_MODES:
        raise FhirError(
            403,
            f"Mode d'accès « {raw_mode} » inconnu : consent, care_team, emergency ou samu.",
            code="forbidden",
        )
    mode = ACCESS_MODES.get(raw_mode, "")
    justification = " ".join(str(claims.get("justification") or "").split())
    if mode in ("btg", "samu") and len(justification) < 10:
        raise FhirError(
            403,
            "Un accès d'urgence doit être justifié (justification de 10 caractères au moins, "
            "montrée au patient).",
            code="forbidden",
        )
    actor = Actor(
        ActorKind.PROFESSIONAL,
        professional_id=professional.id,
        organization_id=client.organization_id,
        profession=professional.profession,
        acting_for=client.application.client_id,
    )
    return Caller(client, professional, actor, mode, justification)


@dataclass(frozen=True)
class AppToken:
    """A connected app's access token, issued to a citizen (not to professional software)."""

    application: object  # django-oauth-toolkit Application
    user: object
    person: object
    scopes: frozenset[str]

    def actor(self, patient_id=None) -> Actor:
        """The app's actor on ``patient_id`` (default: the citizen's own record).

        Built in one place (``access.grants.app_actor``): the scopes it holds
        are the token's cut to the patient's active grant; without a grant,
        none, and the policy refuses everything.
        """
        return app_actor(
            self.application,
            patient_id if patient_id is not None else self.person.id,
            self.person.id,
            self.scopes,
            user_id=self.user.pk,
        )


def app_token(request, resource: str, permissions: str, missing: str, software) -> AppToken:
    """The token of a patient's app whose scopes allow one of ``permissions`` on ``resource``.

    ``permissions`` are SMART letters, any of which will do (``"rs"``: read
    or search); ``missing`` says which scope to ask for. Professional
    software is refused (``software(request)`` raises what its door says).
    The scopes are read by ``access.scopes``, like the policy reads them.
    """
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        raise _unauthorized("Jeton d'accès manquant (Authorization: Bearer …).")
    valid, oauth_request = _oauthlib_core().verify_request(request, scopes=[])
    if valid and SoftwareClient.objects.filter(application=oauth_request.client).exists():
        software(request)  # raises: this door is not the professionals'
        valid = False
    if not valid:
        raise _unauthorized("Jeton d'accès invalide ou expiré : demandez-en un nouveau.")
    held = frozenset((getattr(oauth_request.access_token, "scope", "") or "").split())
    if not any(scopes.allows(held, resource, permission) for permission in permissions):
        raise FhirError(403, missing, code="forbidden")
    user = oauth_request.user
    person = getattr(user, "person", None) if user is not None else None
    if person is None:
        raise FhirError(403, "Ce jeton n'agit pour aucun patient.", code="forbidden")
    return AppToken(oauth_request.client, user, person, held)


def audit_token(request) -> AppToken:
    """A patient's app reading the record's audit trail (``patient/AuditEvent.rs``)."""
    return app_token(
        request,
        "AuditEvent",
        "rs",
        "Ce jeton ne donne pas accès au journal des accès : la portée "
        "patient/AuditEvent.rs (ou patient/*.rs) est nécessaire.",
        software=_software_refused,
    )


def _software_refused(request):
    raise FhirError(
        403,
        "Le journal des accès n'est servi qu'au patient lui-même (ou à ses applications), "
        "pas aux logiciels des professionnels.",
        code="forbidden",
    )
