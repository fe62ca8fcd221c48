"""Signing in as the site asks: password, then the TOTP code (professionals and operators)."""

import pyotp
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

OPERATOR_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def sign_in_with_totp(client: Client, user, password: str, secret: str) -> Client:
    """Password then TOTP through the real sign-in pages; the user gets a TOTP if needed."""
    from allauth.mfa.models import Authenticator

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)
    client.post("/comptes/login/", {"login": user.email, "password": password})
    response = client.post("/comptes/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, "connexion TOTP refusée"
    return client
