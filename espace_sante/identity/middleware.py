"""Professionals and operators never work on a password alone."""

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from .models import User

# Where a professional without a second factor may still go.
_OPEN_PREFIXES = ("/comptes/", "/static/", "/healthz", "/readyz")


class ProfessionalSecondFactorMiddleware:
    """A professional or an operator signed in with a password must have passed TOTP.

    Operators see no health data, but they suspend and close people's spaces
    and download letters carrying provisional codes: a password is not enough.

    Signing in through Pro Santé Connect (CPS card or e-CPS) is already strong
    authentication. Anyone else without TOTP is sent to set it up before
    reaching any page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and user.kind in (User.Kind.PROFESSIONAL, User.Kind.OPERATOR)
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            methods = {record.get("method") for record in get_authentication_records(request, user)}
            if "socialaccount" not in methods:
                # Checked on every page, not only at sign-in: a TOTP removed during
                # the session (by an administrator, say) stops the work at once.
                has_totp = Authenticator.objects.filter(
                    user=user, type=Authenticator.Type.TOTP
                ).exists()
                if not has_totp:
                    return redirect(reverse("mfa_activate_totp"))
                if "mfa" not in methods:
                    # A TOTP exists but this session never used it: sign in again.
                    logout(request)
                    return redirect(reverse("account_login"))
        return self.get_response(request)
