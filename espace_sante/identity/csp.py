"""Where our forms may send the browser, beyond our own origin.

Browsers apply the CSP ``form-action`` directive to the redirects that follow
a form submission too. Two sign-in flows leave our origin after a form:
- the "Pro Santé Connect" button (our login page -> the provider);
- our own OAuth2/OIDC provider: sign-in and consent forms end in a redirect
  to the client application's registered redirect URI.
So ``form-action`` stays ``'self'`` plus exactly those origins, and only on
the responses that need them.
"""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

SESSION_KEY = "oauth_form_action"
_PENDING_SECONDS = 15 * 60


def origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def identity_provider_origins() -> set[str]:
    """Origins of the configured OpenID Connect providers (settings and database)."""
    from allauth.socialaccount.models import SocialApp

    urls = list(settings.CSP_FORM_ACTION_ORIGINS)
    for app in settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", []):
        urls.append(app.get("settings", {}).get("server_url", ""))
    for app_settings in SocialApp.objects.filter(provider="openid_connect").values_list(
        "settings", flat=True
    ):
        urls.append((app_settings or {}).get("server_url", ""))
    return {o for o in map(origin, urls) if o}


class FormActionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == reverse("oauth2_provider:authorize"):
            self._remember_client(request)
        response = self.get_response(request)
        extra: set[str] = set()
        if request.path.startswith("/comptes/login/"):
            extra |= identity_provider_origins()
        pending = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if pending and pending.get("until", 0) > time.time():
            extra |= set(pending.get("origins", []))
        if extra:
            response._csp_update = {"form-action": sorted(extra)}
        return response

    @staticmethod
    def _remember_client(request) -> None:
        """Allow, for this sign-in, the registered redirect origins of the client."""
        from oauth2_provider.models import get_application_model

        client_id = request.GET.get("client_id", "")
        if not client_id:
            return
        application = get_application_model().objects.filter(client_id=client_id).first()
        if application is None:
            return
        origins = {o for o in map(origin, application.redirect_uris.split()) if o}
        request.session[SESSION_KEY] = {
            "origins": sorted(origins),
            "until": time.time() + _PENDING_SECONDS,
        }
