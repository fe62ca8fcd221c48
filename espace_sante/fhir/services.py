"""Registering professional software installations (operators, the demo command)."""

import secrets

from django.db import transaction
from oauth2_provider.models import get_application_model

from espace_sante.identity.models import Organization

from .models import SoftwareClient


@transaction.atomic
def register_software(
    organization: Organization, software_name: str, jwks: dict, client_id: str | None = None
) -> SoftwareClient:
    """A new OAuth2 client (client credentials) for one installation, with its public keys.

    The client never uses a secret (``private_key_jwt`` only); a random one is
    set because the model requires it and nobody is ever shown it.
    """
    if not isinstance(jwks, dict) or not jwks.get("keys"):
        raise ValueError("A JWKS with at least one public key is required.")
    if any("d" in key for key in jwks["keys"]):
        raise ValueError('The JWKS must hold public keys only (no "d").')
    Application = get_application_model()
    extra = {"client_id": client_id} if client_id else {}
    application = Application.objects.create(
        name=software_name[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secrets.token_urlsafe(48),
        skip_authorization=True,
        **extra,
    )
    return SoftwareClient.objects.create(
        application=application,
        organization=organization,
        software_name=software_name,
        jwks=jwks,
    )


@transaction.atomic
def update_keys(client: SoftwareClient, jwks: dict) -> SoftwareClient:
    client.jwks = jwks
    client.save(update_fields=["jwks"])
    return client
