"""Mon bilan prévention dans un vrai navigateur : Jean (né en 1954, 70–75 ans) remplit deux
étapes, s'en va, revient à l'étape 3 avec ses réponses, termine et trouve le PDF dans ses
documents ; au clavier seul, à 360 px de large, sans violation axe grave."""

import re

import pytest
from playwright.sync_api import expect

from espace_sante.agenda import questionnaires
from espace_sante.record.documents.models import Document

from .conftest import sign_in_citizen
from .test_accessibility import MOBILE, horizontal_overflow
from .test_profile import blocking_violations

pytestmark = pytest.mark.browser

LIST = "/agenda/bilan-prevention/"


def choose(page, question, answer: str) -> None:
    """Click an answer's label, as a person does (the DSFR draws the radio under it)."""
    page.get_by_role("group", name=question).locator("label", has_text=answer).click()


def test_jean_remplit_deux_etapes_revient_a_l_etape_3_et_trouve_le_pdf_dans_ses_documents(
    page, base_url, personas, smtp_server, console_errors
):
    jean = personas.elder
    steps = questionnaires.questionnaire("70-75").steps
    count = len(steps)
    sign_in_citizen(page, base_url, jean.user.email, personas.password, smtp_server)
    page.goto(base_url + LIST)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon bilan prévention")
    card = page.get_by_test_id("questionnaire-70-75")
    expect(card).to_contain_text("Votre tranche d'âge")
    found = blocking_violations(page)
    card.get_by_role("link", name="Commencer le questionnaire de 70 à 75 ans").click()

    # Step 1, with the mouse.
    expect(page.get_by_text(f"Étape 1 sur {count}")).to_be_visible()
    choose(page, "Vivez-vous seul(e) ?", "Oui")
    choose(page, "Quelle est votre situation actuelle ?", "Je suis à la retraite")
    page.get_by_role("button", name="Suivant").click()

    # Step 2, with the keyboard only: type, Tab to the next field, Enter sends « Suivant ».
    expect(page.get_by_text(f"Étape 2 sur {count}")).to_be_visible()
    fruits = page.get_by_label("Combien de portions de fruits et légumes")
    fruits.focus()
    page.keyboard.type("4")
    page.keyboard.press("Tab")  # the radio group « repas à heures régulières »
    page.keyboard.press("Space")  # picks its first answer, « Oui, le plus souvent »
    page.keyboard.press("Tab")  # the next group
    page.keyboard.press("Tab")  # the days of activity
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("6")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Suivant")
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Étape 3 sur {count}")).to_be_visible()

    # He leaves, and comes back later from the list: resumed at step 3.
    page.goto(base_url + "/")
    page.goto(base_url + LIST)
    expect(card).to_contain_text(f"En cours (étape 3 sur {count})")
    card.get_by_role("link", name="Reprendre le questionnaire de 70 à 75 ans").click()
    expect(page.get_by_text(f"Étape 3 sur {count}")).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_contain_text(steps[2].title)

    # A wrong number: a French error, what he typed still there.
    sleep = page.get_by_label("Combien d'heures dormez-vous par nuit")
    sleep.fill("huit")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_role("alert")).to_contain_text("Une réponse est à corriger")
    expect(sleep).to_have_value("huit")
    found += blocking_violations(page)
    # His answers of step 2 are kept: « Précédent » shows them.
    sleep.fill("8")
    page.get_by_role("button", name="Précédent").click()
    expect(page.get_by_text(f"Étape 2 sur {count}")).to_be_visible()
    expect(page.get_by_label("Combien de portions de fruits et légumes")).to_have_value("4")
    expect(page.get_by_label("Oui, le plus souvent")).to_be_checked()
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_label("Combien d'heures dormez-vous par nuit")).to_have_value("8")

    # On a small phone nothing scrolls sideways.
    page.set_viewport_size(MOBILE)
    assert horizontal_overflow(page) == 0, "l'étape défile en largeur à 360 px"
    page.set_viewport_size({"width": 1280, "height": 900})

    choose(page, re.compile("triste, déprimé"), "Jamais")
    page.get_by_role("button", name="Suivant").click()
    for number in range(4, count):
        expect(page.get_by_text(f"Étape {number} sur {count}")).to_be_visible()
        page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text(f"Étape {count} sur {count}")).to_be_visible()
    page.get_by_label("Y a-t-il autre chose que vous voulez dire").fill(
        "Je voudrais parler de mes genoux."
    )
    page.get_by_role("button", name="Terminer le questionnaire").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("terminé")
    found += blocking_violations(page)
    page.get_by_role("link", name="voir le document des réponses").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Mon bilan prévention — questionnaire de 70 à 75 ans"
    )
    document = Document.objects.get(patient=jean, type_code="74465-6")
    assert document.category == "QUEST_SANTE"
    page.goto(base_url + "/documents/")
    expect(page.get_by_text("Questionnaire santé (1)")).to_be_visible()
    assert found == [], "\n".join(found)
    # The step with a wrong number answers 400 on purpose (the browser logs it): nothing else.
    assert [e for e in console_errors if "status of 400" not in e] == []
