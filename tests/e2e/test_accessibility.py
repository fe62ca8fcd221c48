"""Accessibilité (RGAA) : axe-core sur les pages de connexion et d'accueil, écran de
360 px de large, navigation au clavier."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .conftest import (
    CODE,
    LOGIN,
    TIMEOUT_MS,
    TOTP,
    enter_totp,
    sign_in_citizen,
    sign_in_with_password,
    wrong_code,
)

pytestmark = pytest.mark.browser

BLOCKING_IMPACTS = {"serious", "critical"}
MOBILE = {"width": 360, "height": 740}


def blocking_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one readable line each."""
    results = Axe().run(page)
    return [
        f"{page.url} — {violation['id']} ({violation['impact']}): {violation['help']} → "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_axe_ne_trouve_aucune_violation_grave_sur_les_pages_de_connexion_et_d_accueil(
    browser, page, base_url, personas, smtp_server
):
    """Connexion, code à usage unique, accueil de l'usagère ; puis code TOTP et portail
    du professionnel : aucune violation « serious » ni « critical »."""
    found = []

    page.goto(base_url + LOGIN)
    found += blocking_violations(page)

    email = personas.mother.user.email
    sign_in_with_password(page, base_url, email, personas.password)
    page.wait_for_url(base_url + CODE)
    found += blocking_violations(page)

    # With the error shown too: a wrong code.
    page.get_by_label("Code").fill(wrong_code(smtp_server.code_for(email)))
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Code incorrect.")).to_be_visible()
    found += blocking_violations(page)

    page.get_by_label("Code").fill(smtp_server.code_for(email))
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(base_url + "/")
    found += blocking_violations(page)

    professional = browser.new_context(locale="fr-FR")
    professional.set_default_timeout(TIMEOUT_MS)
    try:
        pro_page = professional.new_page()
        sign_in_with_password(pro_page, base_url, personas.gp.user.email, personas.password)
        pro_page.wait_for_url(re.compile(re.escape(base_url + TOTP)))
        found += blocking_violations(pro_page)
        enter_totp(pro_page, base_url, personas.totp_secret)
        expect(pro_page.get_by_role("heading", level=1)).to_have_text("Portail professionnel")
        found += blocking_violations(pro_page)
    finally:
        professional.close()

    assert found == [], "\n".join(found)


def test_a_360_px_de_large_rien_ne_deborde_et_le_menu_s_ouvre(
    page, base_url, personas, smtp_server, console_errors
):
    """Sur un petit téléphone (360 px) : pas de défilement horizontal sur la connexion,
    le code et l'accueil ; le bouton « Menu » du DSFR ouvre la navigation principale."""
    page.set_viewport_size(MOBILE)
    page.goto(base_url + LOGIN)
    assert horizontal_overflow(page) == 0, "la page de connexion défile en largeur"
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]

    sign_in_with_password(page, base_url, personas.mother.user.email, personas.password)
    page.wait_for_url(base_url + CODE)
    assert horizontal_overflow(page) == 0, "la page du code défile en largeur"

    page.get_by_label("Code").fill(smtp_server.code_for(personas.mother.user.email))
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Marie")
    assert horizontal_overflow(page) == 0, "l'accueil défile en largeur"
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]

    # The navigation is folded behind the "Menu" button on a small screen.
    documents = page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Documents"
    )
    expect(documents).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    menu.click()
    # DSFR marks the opened menu this way (a modal dialog, not aria-expanded).
    expect(menu).to_have_attribute("data-fr-opened", "true")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(documents).to_be_visible()
    assert horizontal_overflow(page) == 0, "le menu ouvert défile en largeur"
    documents.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents")
    assert console_errors == []


def test_au_clavier_le_premier_tab_donne_le_lien_d_evitement_vers_le_contenu(
    page, base_url, personas, smtp_server
):
    """Le premier appui sur Tab atteint « Aller au contenu » (visible) ; l'activer
    place le focus sur le contenu principal, d'où le Tab suivant part."""

    def check_skip_link():
        page.keyboard.press("Tab")
        skip_link = page.get_by_role("link", name="Aller au contenu")
        expect(skip_link).to_be_focused()
        expect(skip_link).to_be_visible()
        page.keyboard.press("Enter")
        expect(page.locator("main#contenu")).to_be_focused()
        # The next Tab stays inside the main content (not back to the header).
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.getElementById('contenu').contains(document.activeElement)"
        ), "le Tab suivant doit partir du contenu principal"

    page.goto(base_url + LOGIN)
    check_skip_link()
    expect(page.get_by_label("Identifiant (adresse électronique)")).to_be_focused()

    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    check_skip_link()
