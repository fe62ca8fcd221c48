"""Token requests of professional software: ``private_key_jwt`` client authentication.

django-oauth-toolkit authenticates clients with a secret; professional
software installations instead sign a JWT with their private key (RFC 7523,
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``),
checked against the public keys registered by an operator. A software
installation may not fall back to a secret.
"""

import hashlib
import logging

from django.urls import reverse
from oauth2_provider.models import get_access_token_model

from espace_sante.identity.oidc import OIDCValidator

from .assertions import AssertionRefused, unverified_issuer, verify
from .models import SoftwareClient

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
log = logging.getLogger(__name__)


def token_audiences(request) -> list[str]:
    """What ``aud`` a client assertion may name: the token endpoint, as reached or at SITE_URL."""
    from django.conf import settings

    path = reverse("oauth2_provider:token")
    found = [settings.SITE_URL.rstrip("/") + path]
    # django-oauth-toolkit hands the WSGI environ over as the request's headers.
    headers = getattr(request, "headers", None) or {}
    host = headers.get("HTTP_HOST")
    if not host and headers.get("SERVER_NAME"):
        port = str(headers.get("SERVER_PORT") or "")
        host = headers["SERVER_NAME"] + (f":{port}" if port not in ("", "80", "443") else "")
    if host:
        found = [f"https://{host}{path}", f"http://{host}{path}", *found]
    return found


class SoftwareClientValidator(OIDCValidator):
    def _load_access_token(self, token):
        # django-oauth-toolkit's own lookup (by checksum, with the application and
        # the user), plus the software installation and its organisation: every
        # FHIR request needs them, and this saves a round trip each time.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            get_access_token_model()
            .objects.select_related("application", "user", "application__software__organization")
            .filter(token_checksum=checksum)
            .first()
        )

    def _load_application(self, client_id, request):
        if client_id and "\x00" in client_id:  # PostgreSQL cannot look such a text up
            return None
        return super()._load_application(client_id, request)

    def authenticate_client(self, request, *args, **kwargs):
        params = getattr(request, "_params", {})
        assertion_type = params.get("client_assertion_type")
        assertion = params.get("client_assertion")
        if assertion_type is None and assertion is None:
            authenticated = super().authenticate_client(request, *args, **kwargs)
            if authenticated and SoftwareClient.objects.filter(application=request.client).exists():
                request.client = None
                return False  # software installations authenticate by signature only
            return authenticated
        if assertion_type != JWT_BEARER or not assertion:
            return False
        try:
            client_id = unverified_issuer(assertion)
            if request.client_id and request.client_id != client_id:
                raise AssertionRefused("client_id et l'émetteur de l'assertion diffèrent.")
            if self._load_application(client_id, request) is None:
                raise AssertionRefused("Client inconnu.")
            software = SoftwareClient.objects.filter(
                application=request.client, active=True
            ).first()
            if software is None:
                raise AssertionRefused("Ce client n'est pas un logiciel professionnel enregistré.")
            claims = verify(assertion, software, token_audiences(request), "L'assertion du client")
            if claims.get("sub") != client_id:
                raise AssertionRefused("L'assertion du client doit avoir sub = client_id.")
        except AssertionRefused as exc:
            log.info("private_key_jwt refused: %s", exc)
            request.client = None
            return False
        request.client_id = client_id
        return True
