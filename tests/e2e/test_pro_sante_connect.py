"""Connexion des professionnels par OpenID Connect, comme avec Pro Santé Connect.

The project's own OpenID Connect provider (django-oauth-toolkit at /o/) plays
Pro Santé Connect: like PSC, it puts the national id (8 + RPPS) of a
professional in the ``SubjectNameID`` claim. The live server answers on two
host names whose cookies never mix: http://localhost:PORT is the identity
provider, http://127.0.0.1:PORT the relying party (espace-santé).
"""

import re
import secrets
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import LOGIN, TOTP, sign_in_with_password, totp_now

pytestmark = pytest.mark.browser

CALLBACK = "/comptes/oidc/psc/login/callback/"
PSC_BUTTON = "Se connecter avec Pro Santé Connect"


@pytest.fixture
def provider_url(live_server) -> str:
    """The identity provider's origin: the live server under the name "localhost"."""
    port = urlsplit(live_server.url).port
    return f"http://localhost:{port}"


@pytest.fixture
def pro_sante_connect(base_url, provider_url):
    """A confidential client registered at the provider, and the same client
    configured in espace-santé as the "psc" OpenID Connect app of site 1."""
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    raw_secret = secrets.token_urlsafe(32)  # the provider keeps only its hash
    client = Application.objects.create(
        name="espace-santé (tests)",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=raw_secret,
        redirect_uris=base_url + CALLBACK,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    assert client.client_secret != raw_secret, "le secret est stocké haché"
    app = SocialApp.objects.create(
        provider="openid_connect",
        provider_id="psc",
        name="Pro Santé Connect",
        client_id=client.client_id,
        secret=raw_secret,
        settings={"server_url": f"{provider_url}/o"},
    )
    app.sites.add(Site.objects.get(pk=1))
    return app


def record_visited_urls(page) -> list[str]:
    """Every URL the main frame navigates to, redirects included."""
    visited: list[str] = []
    page.on(
        "request",
        lambda request: (
            visited.append(request.url)
            if request.is_navigation_request() and request.frame == page.main_frame
            else None
        ),
    )
    return visited


def test_un_medecin_se_connecte_par_pro_sante_connect_sans_second_code_chez_nous(
    page,
    context,
    base_url,
    provider_url,
    personas,
    pro_sante_connect,
):
    """Dr Claire Martin choisit « Se connecter avec Pro Santé Connect », s'authentifie
    chez le fournisseur d'identité (mot de passe + TOTP) et revient sur son portail
    professionnel sans qu'espace-santé lui redemande un code TOTP."""
    from allauth.socialaccount.models import SocialAccount

    gp = personas.gp
    visited = record_visited_urls(page)

    page.goto(base_url + LOGIN)
    page.get_by_role("button", name=PSC_BUTTON).click()

    # At the identity provider (another origin): its own sign-in, password + TOTP.
    page.wait_for_url(re.compile(re.escape(provider_url + LOGIN)))
    sign_in_with_password(page, provider_url, gp.user.email, personas.password, goto=False)
    page.wait_for_url(re.compile(re.escape(provider_url + TOTP)))
    page.get_by_label("Code").fill(totp_now(personas.totp_secret))
    page.get_by_role("button", name="Connexion", exact=True).click()

    # Back at espace-santé, signed in, on the professional portal.
    page.wait_for_url(re.compile("^" + re.escape(base_url + "/")))
    assert page.url == base_url + "/", page.get_by_role("main").inner_text()
    expect(page.get_by_role("heading", level=1)).to_have_text("Portail professionnel")
    expect(page.get_by_text(f"RPPS {gp.rpps}")).to_be_visible()

    # Espace-santé never asked for its own TOTP: Pro Santé Connect is strong enough.
    assert any(url.startswith(base_url + CALLBACK) for url in visited), visited
    assert not [url for url in visited if url.startswith(base_url + TOTP)], visited
    # Two sessions, one per host, that never mix.
    relying = {c["name"]: c["value"] for c in context.cookies(base_url)}
    provider = {c["name"]: c["value"] for c in context.cookies(provider_url)}
    assert relying["sessionid"] != provider["sessionid"]

    account = SocialAccount.objects.get(provider="psc")
    assert account.user == gp.user

    # The session stays open on the other pages too (the middleware lets it through).
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mes patients"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes patients")


def test_une_identite_inconnue_de_l_annuaire_est_refusee_en_francais(
    page,
    context,
    base_url,
    provider_url,
    personas,
    pro_sante_connect,
):
    """Le fournisseur d'identité reconnaît la personne, mais aucun professionnel de
    l'annuaire ne lui correspond : message en français, et personne n'est connecté."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP as TotpAuthenticator
    from allauth.socialaccount.models import SocialAccount

    from espace_sante.identity.models import User

    # Known to the provider (an account there), unknown to our directory.
    stranger = User.objects.create_user(
        email="inconnu.psc@demo.example", password=personas.password, kind=User.Kind.OPERATOR
    )
    EmailAddress.objects.create(user=stranger, email=stranger.email, primary=True, verified=True)
    TotpAuthenticator.activate(stranger, personas.totp_secret)  # operators use TOTP too

    page.goto(base_url + LOGIN)
    page.get_by_role("button", name=PSC_BUTTON).click()
    page.wait_for_url(re.compile(re.escape(provider_url + LOGIN)))
    sign_in_with_password(page, provider_url, stranger.email, personas.password, goto=False)
    page.wait_for_url(re.compile(re.escape(provider_url + TOTP)))
    page.get_by_label("Code").fill(totp_now(personas.totp_secret))
    page.get_by_role("button", name="Connexion", exact=True).click()

    page.wait_for_url(re.compile("^" + re.escape(base_url)))
    expect(page.get_by_text("aucun compte espace-santé ne lui correspond")).to_be_visible()
    assert not SocialAccount.objects.exists()
    # Signed in at the provider: Chromium kept its Secure cookies on http://localhost too.
    provider_cookies = {c["name"]: c for c in context.cookies(provider_url)}
    assert provider_cookies["sessionid"]["secure"] and provider_cookies["csrftoken"]["secure"]

    page.goto(base_url + "/")
    assert page.url.startswith(base_url + LOGIN)
    expect(page.get_by_role("link", name="Se connecter", exact=True)).to_be_visible()


def test_la_csp_de_l_application_laisse_partir_vers_pro_sante_connect(
    page, base_url, provider_url, pro_sante_connect
):
    """Avec la politique CSP de l'application telle quelle, le bouton Pro Santé Connect
    mène bien au fournisseur d'identité (sans la rustine des autres tests)."""
    blocked = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(base_url + LOGIN)
    page.get_by_role("button", name=PSC_BUTTON).click()
    for _ in range(50):  # 5 s at most
        if blocked or page.url.startswith(provider_url):
            break
        page.wait_for_timeout(100)
    assert not blocked, blocked
    page.wait_for_url(re.compile(re.escape(provider_url + LOGIN)))
