"""Se connecter dans un vrai navigateur : usager (mot de passe + code par courriel),
professionnel (mot de passe + code TOTP)."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import CODE, LOGIN, TOTP, enter_totp, sign_in_with_password, wrong_code

pytestmark = pytest.mark.browser

CITIZEN_NAV = ["Documents", "Profil médical", "Messagerie", "Agenda", "Paramètres"]


def test_une_usagere_se_connecte_avec_le_code_recu_par_courriel_puis_se_deconnecte(
    page, context, base_url, personas, smtp_server, console_errors
):
    """Marie tape son identifiant et son mot de passe, lit le code reçu par courriel,
    le saisit, arrive sur son accueil (« Bonjour Marie » et le menu), puis se déconnecte."""
    email = personas.mother.user.email
    sign_in_with_password(page, base_url, email, personas.password)

    page.wait_for_url(base_url + CODE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Saisir le code reçu")
    # The password alone opens nothing yet.
    assert not page.get_by_role("button", name="Se déconnecter").is_visible()

    page.get_by_label("Code").fill(smtp_server.code_for(email))
    page.get_by_role("button", name="Confirmer").click()

    page.wait_for_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Marie")
    navigation = page.get_by_role("navigation", name="Menu principal")
    expect(navigation.get_by_role("link")).to_have_text(CITIZEN_NAV)
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Marie")

    # The session cookie is Secure, and Chromium keeps it on http://127.0.0.1.
    session = next(c for c in context.cookies() if c["name"] == "sessionid")
    assert session["secure"] and session["httpOnly"]

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(base_url + LOGIN)
    expect(page.get_by_role("link", name="Se connecter", exact=True)).to_be_visible()
    # Signed out for real: the home page asks to sign in again.
    page.goto(base_url + "/")
    assert page.url.startswith(base_url + LOGIN)
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter à mon espace santé")
    # No blocked resource, CSP violation or script error along the way.
    assert console_errors == []


def test_un_code_faux_est_refuse_en_francais_et_le_bon_code_fonctionne_ensuite(
    page, base_url, personas, smtp_server
):
    """Un code erroné est refusé (« Code incorrect. ») sans fermer la tentative ; le bon
    code, saisi ensuite, ouvre l'espace (allauth accorde trois essais)."""
    email = personas.mother.user.email
    sign_in_with_password(page, base_url, email, personas.password)
    page.wait_for_url(base_url + CODE)
    code = smtp_server.code_for(email)

    page.get_by_label("Code").fill(wrong_code(code))
    page.get_by_role("button", name="Confirmer").click()

    expect(page.get_by_text("Code incorrect.")).to_be_visible()
    assert page.url == base_url + CODE
    # The error is tied to the field for screen readers.
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Code")).to_have_accessible_description("Code incorrect.")

    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Marie")


def test_un_professionnel_se_connecte_avec_mot_de_passe_et_code_totp(page, base_url, personas):
    """Dr Claire Martin : mot de passe, puis code de son application d'authentification,
    puis le portail professionnel."""
    user = personas.gp.user
    sign_in_with_password(page, base_url, user.email, personas.password)

    page.wait_for_url(re.compile(re.escape(base_url + TOTP)))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("deux facteurs"))

    enter_totp(page, base_url, personas.totp_secret)
    expect(page.get_by_role("heading", level=1)).to_have_text("Portail professionnel")
    expect(page.get_by_text("RPPS 10001234565")).to_be_visible()
    expect(page.get_by_role("navigation", name="Menu principal").get_by_role("link")).to_have_text(
        ["Mes patients", "Messagerie", "Mon compte"]
    )


def test_marie_demande_un_nouveau_code_et_se_connecte_avec(page, base_url, personas, smtp_server):
    email = personas.mother.user.email
    sign_in_with_password(page, base_url, email, personas.password)
    page.wait_for_url(base_url + CODE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Saisir le code reçu")
    expect(page.get_by_text("Il est valable 10 minutes")).to_be_visible()
    expect(page.get_by_text(email)).to_have_count(1)
    first = smtp_server.code_for(email)
    page.get_by_role("button", name="Recevoir un nouveau code").click()
    second = smtp_server.code_for(email, count=2)
    assert second != first
    page.get_by_label("Code").fill(second)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Marie")
