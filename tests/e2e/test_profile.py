"""Profil médical dans un vrai navigateur : saisie au clavier et à la souris, graphique,
accessibilité (axe-core) des pages du profil."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .conftest import sign_in_citizen

pytestmark = pytest.mark.browser

BLOCKING_IMPACTS = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{page.url} — {violation['id']} ({violation['impact']}): {violation['help']} → "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def open_profile(page, base_url, personas, smtp_server) -> None:
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Profil médical"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Profil médical")


def add_weight(page, value: str, day: str) -> None:
    page.get_by_label("Poids (kg)").fill(value)
    page.get_by_label("Date de la mesure").fill(day)
    page.get_by_role("button", name="Enregistrer la mesure").click()
    expect(page.get_by_text("La mesure est enregistrée.")).to_be_visible()


def test_marie_ajoute_une_allergie_et_son_poids_puis_voit_la_liste_et_le_graphique(
    page, base_url, personas, smtp_server, console_errors
):
    """Marie ouvre son profil, ajoute une allergie à la pénicilline (gravité choisie au
    clavier), puis deux poids ; elle les retrouve dans la liste, le tableau et le graphique."""
    open_profile(page, base_url, personas, smtp_server)

    page.get_by_role("link", name="Allergies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Allergies")
    expect(page.get_by_text("Aucune allergie indiquée.")).to_be_visible()
    page.get_by_role("link", name="Ajouter une allergie").click()

    # A mistake first: the French message is shown and linked to the field.
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez la substance")
    substance = page.get_by_label("Substance")
    expect(substance).to_have_attribute("aria-invalid", "true")

    substance.fill("Pénicilline")
    page.get_by_role("textbox", name="Réaction").fill("Urticaire")
    severe = page.get_by_role("radio", name="Sévère (réaction grave, choc)")
    severe.focus()
    page.keyboard.press("Space")
    expect(severe).to_be_checked()
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_text("C'est enregistré : « Pénicilline ».")).to_be_visible()
    entry = page.get_by_role("heading", level=2, name="Pénicilline")
    expect(entry).to_be_visible()
    expect(page.locator("main")).to_contain_text("Sévère (réaction grave, choc)")

    page.get_by_role("link", name="Retour au profil médical").click()
    page.get_by_role("link", name="Mesures").click()
    page.get_by_role("link", name="Poids", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Poids")

    page.get_by_label("Poids (kg)").fill("500")
    page.get_by_role("button", name="Enregistrer la mesure").click()
    expect(page.locator("main")).to_contain_text("Le poids doit être compris entre 0,5 et 400 kg.")

    add_weight(page, "64,2", "2025-01-10")
    add_weight(page, "63,4", "2025-04-10")

    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(3)  # header + 2
    expect(table.get_by_role("row").nth(1)).to_contain_text("63,4 kg")  # newest first
    chart = page.get_by_role("img", name="Évolution : poids")
    expect(chart).to_be_visible()
    expect(page.locator(".es-chart__point")).to_have_count(2)
    expect(page.locator("#graphique-description")).to_contain_text("dernière valeur 63,4 kg")

    page.get_by_role("link", name="Retour aux mesures").click()
    page.get_by_role("link", name="Profil médical", exact=True).first.click()
    summary = page.locator("main")
    expect(summary).to_contain_text("Pénicilline")
    expect(summary).to_contain_text(re.compile(r"Poids : 63,4 kg, le 10/04/2025"))
    assert console_errors == []


def test_axe_ne_trouve_aucune_violation_grave_sur_les_pages_du_profil(
    page, base_url, personas, smtp_server, console_errors
):
    """Index du profil, une rubrique (avec une entrée), son formulaire avec erreurs, une
    page de mesure avec graphique : aucune violation « serious » ni « critical »."""
    open_profile(page, base_url, personas, smtp_server)
    found = blocking_violations(page)

    page.get_by_role("link", name="Allergies").click()
    page.get_by_role("link", name="Ajouter une allergie").click()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_be_visible()
    found += blocking_violations(page)
    page.get_by_label("Substance").fill("Arachide")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", level=2, name="Arachide")).to_be_visible()
    found += blocking_violations(page)

    page.goto(f"{base_url}/profil/{personas.mother.id}/mesures/tension-arterielle/")
    for day, high, low in (("2025-01-10", "132", "84"), ("2025-02-10", "127", "81")):
        page.get_by_role("textbox", name="Pression systolique").fill(high)
        page.get_by_role("textbox", name="Pression diastolique").fill(low)
        page.get_by_label("Date de la mesure").fill(day)
        page.get_by_role("button", name="Enregistrer la mesure").click()
        expect(page.get_by_text("La mesure est enregistrée.")).to_be_visible()
    expect(page.locator(".es-chart__point")).to_have_count(4)
    found += blocking_violations(page)

    page.goto(f"{base_url}/profil/{personas.mother.id}/entourage/")
    found += blocking_violations(page)
    assert found == [], "\n".join(found)
    assert console_errors == []


def test_les_pages_de_leo_disent_qu_elles_sont_les_siennes(page, base_url, personas, smtp_server):
    """issue 18, item 5: a child's pages never read like his mother's own."""
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.get_by_role("link", name="son profil médical").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Profil médical de Léo DURAND")
    expect(page.get_by_text("Synthèse du profil de Léo DURAND")).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_text("Synthèse de votre profil")).to_have_count(0)
    expect(main.get_by_text("Vous n'avez indiqué", exact=False)).to_have_count(0)
    expect(main.get_by_text("Aucune allergie indiquée.")).to_be_visible()

    page.goto(base_url + "/")
    page.get_by_role("link", name="ses documents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents de Léo DURAND")
    expect(main.get_by_text("Votre dossier", exact=False)).to_have_count(0)
    expect(main.get_by_text("le dossier de Léo DURAND", exact=False)).to_be_visible()
