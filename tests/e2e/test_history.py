"""Historique des accès dans un vrai navigateur : Marie voit la consultation de son
médecin en français, la signale, et les pages n'ont pas de défaut d'accessibilité grave."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from espace_sante.access import audit
from espace_sante.access.models import AccessReport
from espace_sante.access.policy import Action
from tests.access.audit_support import add_document, cabinet_du_parc, pro_actor

from .conftest import sign_in_citizen
from .test_profile import blocking_violations

pytestmark = pytest.mark.browser

SENTENCE = (
    "Dr Claire Martin, médecin, Cabinet médical du Parc, a consulté « Bilan sanguin » "
    "le 3 mars 2026 à 14 h 05 — accès en tant que médecin traitant"
)


def test_marie_voit_l_acces_de_son_medecin_et_le_signale(
    page, base_url, personas, smtp_server, console_errors
):
    bilan = add_document(personas, title="Bilan sanguin")
    with time_machine.travel(datetime(2026, 3, 3, 14, 5, tzinfo=ZoneInfo("Europe/Paris"))):
        audit.record(
            pro_actor(personas.gp, cabinet_du_parc()),
            Action.READ,
            personas.mother.id,
            obj=bilan,
            reason="medecin_traitant",
        )

    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Paramètres"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paramètres")
    found = blocking_violations(page)
    page.get_by_role("link", name="Historique des accès").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique des accès")
    expect(page.get_by_role("link", name="Professionnels et services")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_text(SENTENCE)).to_be_visible()
    found += blocking_violations(page)

    page.get_by_role("link", name="Mes actions").click()
    expect(page.get_by_text("Vous avez ajouté « Bilan sanguin »")).to_be_visible()
    expect(page.get_by_text(SENTENCE)).to_have_count(0)
    found += blocking_violations(page)

    page.get_by_role("link", name="Professionnels et services").click()
    page.get_by_role("link", name="Je ne reconnais pas cet accès").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signaler un accès")
    expect(page.get_by_test_id("entree-signalee")).to_have_text(SENTENCE)
    found += blocking_violations(page)
    page.get_by_label("Commentaire (facultatif)").fill("Je n'ai pas consulté ce jour-là.")
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.get_by_text("Votre signalement est enregistré.")).to_be_visible()
    expect(page.get_by_text("Vous avez signalé cet accès le")).to_be_visible()
    report = AccessReport.objects.get()
    assert report.comment == "Je n'ai pas consulté ce jour-là."
    assert report.entry.actor_professional_id == personas.gp.id

    page.goto(base_url + "/parametres/notifications/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    found += blocking_violations(page)
    page.get_by_text("Un professionnel de santé consulte mon dossier").click()
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(page.get_by_text("Vos préférences de notification sont enregistrées.")).to_be_visible()
    expect(page.get_by_label("Un professionnel de santé consulte mon dossier")).not_to_be_checked()
    found += blocking_violations(page)

    assert found == [], "\n".join(found)
    assert console_errors == []
