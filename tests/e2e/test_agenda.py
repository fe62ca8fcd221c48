"""L'agenda dans un vrai navigateur : rappels de prévention, vue du mois, espace de Léo,
ajout d'un rendez-vous au clavier, lien de calendrier relu par un autre analyseur (vobject),
accessibilité (axe-core) et 360 px de large."""

import re
import urllib.request
from datetime import datetime, timedelta

import pytest
import vobject
from playwright.sync_api import expect

from espace_sante.access.dates import french_date
from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import services
from espace_sante.agenda.models import Appointment
from tests.access.test_policy_table import pro_actor

from .conftest import sign_in_citizen
from .test_accessibility import MOBILE, blocking_violations, horizontal_overflow

pytestmark = pytest.mark.browser


def next_week_at_ten() -> datetime:
    day = datetime.now(services.PARIS).date() + timedelta(days=7)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=services.PARIS)


def test_marie_fait_son_depistage_retrouve_son_rendez_vous_et_voit_le_bilan_de_leo(
    page, base_url, personas, smtp_server, console_errors
):
    """Marie voit son dépistage du col de l'utérus (test HPV à 38 ans) avec sa raison,
    le marque fait (il passe dans « Fait »), retrouve dans le mois le rendez-vous ajouté
    par Dr Martin, puis passe à l'espace de Léo et voit son examen des 6 ans."""
    marie, leo = personas.mother, personas.child
    starts = next_week_at_ten()
    services.add_appointment(
        pro_actor(personas.gp),
        marie,
        {"starts_at": starts, "with_whom": "Dr Claire Martin", "reason": "Suivi"},
    )
    sign_in_citizen(page, base_url, marie.user.email, personas.password, smtp_server)
    found = blocking_violations(page)

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Agenda").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")
    expect(page.get_by_text("Ajouté par Dr Claire Martin")).to_be_visible()
    found += blocking_violations(page)

    page.get_by_role("link", name=re.compile(r"^Prévention")).first.click()
    card = page.locator("#rappel-depistage-col-hpv")
    expect(card).to_contain_text("Vous avez 38 ans")
    to_do = page.locator("section", has=page.get_by_role("heading", name=re.compile("^À faire")))
    expect(to_do.locator("#rappel-depistage-col-hpv")).to_be_visible()
    found += blocking_violations(page)

    card.get_by_role("button", name=re.compile("^C'est fait")).click()
    expect(page.get_by_text("C'est noté : ce rappel est fait.")).to_be_visible()
    done = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Fait")))
    expect(done.locator("#rappel-depistage-col-hpv")).to_contain_text("Fait le")

    page.goto(f"{base_url}/agenda/mois/{starts:%Y-%m}/")
    table = page.get_by_role("table")
    expect(table.locator("caption")).to_contain_text(f"{starts.year}")
    cell = table.locator("td", has_text="10 h 00 : Dr Claire Martin")
    expect(cell.locator(".fr-sr-only").first).to_have_text(french_date(starts.date()))
    found += blocking_violations(page)

    page.goto(base_url + "/agenda/prevention/")
    page.get_by_role("navigation", name="Pour qui ?").get_by_role(
        "link", name=leo.display_name
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Prévention de {leo.display_name}")
    leo_to_do = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("^À faire"))
    )
    checkup = leo_to_do.locator("#rappel-examen-enfant-6-ans")
    expect(checkup).to_contain_text("Examen de santé de l'enfant à 6 ans")
    expect(checkup).to_contain_text("obligatoire")
    expect(leo_to_do.locator("#rappel-dentaire-6ans")).to_contain_text("M'T dents")
    found += blocking_violations(page)

    assert found == []
    assert console_errors == []


def test_ajout_d_un_rendez_vous_au_clavier_seul_puis_lien_de_calendrier(
    page, base_url, personas, smtp_server, console_errors
):
    """Marie ajoute un rendez-vous sans souris ; crée un lien de calendrier, que vobject
    relit : le rendez-vous y est, sous un titre neutre ; une fois révoqué, le lien répond 404."""
    marie = personas.mother
    sign_in_citizen(page, base_url, marie.user.email, personas.password, smtp_server)
    page.goto(base_url + "/agenda/")

    # From the top of the page, Tab until the link is reached, as a keyboard user does.
    add = page.get_by_role("link", name="Ajouter un rendez-vous")
    for _ in range(40):
        page.keyboard.press("Tab")
        if add.evaluate("element => element === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter un rendez-vous")
    # A mistake first: every field's message, the form kept, nothing lost.
    page.get_by_label("Durée (en minutes)").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Le rendez-vous n'est pas enregistré")
    expect(
        page.get_by_text("La durée doit être comprise entre 5 minutes et 12 heures.")
    ).to_be_visible()
    expect(page.get_by_label("Durée (en minutes)")).to_have_attribute("aria-invalid", "true")
    assert blocking_violations(page) == []
    day = next_week_at_ten().date()
    page.get_by_label("Date").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{day:%d/%m/%Y}")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("15:45")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("40")
    page.keyboard.press("Tab")
    page.keyboard.type("Dr Roux")
    page.keyboard.press("Tab")
    page.keyboard.type("Clinique des Lilas")
    page.keyboard.press("Tab")
    page.keyboard.type("Grain de beauté")
    page.keyboard.press("Enter")
    expect(page.get_by_text("15 h 45").first).to_be_visible()
    row = Appointment.objects.get(patient_id=marie.id)
    assert services.local_start(row).strftime("%H:%M") == "15:45"
    assert row.duration_minutes == 40
    assert blocking_violations(page) == []

    page.get_by_role("link", name=re.compile("^Annuler le rendez-vous du")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuler le rendez-vous")
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Non, le garder").click()

    page.get_by_role("button", name="Créer un lien de calendrier").click()
    url = page.get_by_label("Adresse de l'agenda à copier").input_value()
    assert url.endswith(".ics")
    with urllib.request.urlopen(url) as answer:  # noqa: S310 (http of the live server; no session)
        calendar = vobject.readOne(answer.read().decode())
    event = {e.uid.value: e for e in calendar.vevent_list}[f"rdv-{row.id}@espace-sante"]
    assert event.summary.value == "Rendez-vous médical"
    assert event.dtstart.value == services.local_start(row)
    assert "Grain de beauté" not in calendar.serialize()

    page.reload()
    expect(page.get_by_label("Adresse de l'agenda à copier")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Révoquer le lien").click()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url)  # noqa: S310
    assert refused.value.code == 404
    assert console_errors == []


def test_a_360_px_l_agenda_et_le_mois_ne_debordent_pas(browser, base_url, personas, smtp_server):
    context = browser.new_context(locale="fr-FR", viewport=MOBILE)
    page = context.new_page()
    marie = personas.mother
    services.add_appointment(
        actor_for_user(marie.user), marie, {"starts_at": next_week_at_ten(), "reason": "Suivi"}
    )
    sign_in_citizen(page, base_url, marie.user.email, personas.password, smtp_server)
    for path in ("/agenda/", "/agenda/prevention/", f"/agenda/mois/{next_week_at_ten():%Y-%m}/"):
        page.goto(base_url + path)
        assert horizontal_overflow(page) == 0, path
        assert blocking_violations(page) == [], path
    context.close()
