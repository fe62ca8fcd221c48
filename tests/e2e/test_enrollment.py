"""Activer son espace et s'opposer à sa création, dans un vrai navigateur."""

import re
from io import BytesIO

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from espace_sante.enrollment import services
from espace_sante.identity.models import Person, SpaceState
from tests.enrollment.support import csv_lines, person_row

from .conftest import sign_in_citizen

pytestmark = pytest.mark.browser


@pytest.fixture
def invited(transactional_db, smtp_server):
    from django.utils import timezone

    campaign = services.create_campaign("Haute-Garonne", "31", timezone.localdate())
    services.import_beneficiaries(campaign, csv_lines([person_row(1), person_row(2)]))
    services.send_invitation_emails(campaign)

    def code_of(serial):
        body = smtp_server.body(smtp_server.wait_for(f"personne{serial}@exemple.test"))
        return re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b", body).group(1)

    return code_of


def fill_identity(page, serial, code):
    row = person_row(serial)
    page.get_by_label("Code provisoire").fill(code)
    page.get_by_label("Numéro de sécurité sociale").fill(row["nir"])
    page.get_by_label("Numéro de série de la carte Vitale").fill(row["numero_serie_carte"])


def test_une_personne_informee_active_son_espace_puis_se_connecte(
    page, base_url, invited, smtp_server, console_errors
):
    """Le code reçu par courriel, le NIR et le numéro de série de la carte, puis un mot de
    passe : l'espace est activé et la personne se connecte avec un code à chaque fois."""
    page.goto(base_url + "/activer/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer mon espace santé")
    fill_identity(page, 1, "AAAA-BBBB-CCCC")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("alert")).to_contain_text("Ces informations ne correspondent pas")

    fill_identity(page, 1, invited(1))
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(base_url + "/activer/compte/")
    expect(page.get_by_text("Bonjour Prenom1 NOM1")).to_be_visible()
    page.get_by_label("Adresse électronique").fill("prenom1@exemple.test")
    page.locator("#id_password1").fill("Un-mot-de-passe-2026")
    page.get_by_label("Confirmez le mot de passe").fill("Un-mot-de-passe-2026")
    page.get_by_label("Par courriel").check()
    page.get_by_role("button", name="Activer mon espace").click()

    page.wait_for_url(base_url + "/comptes/login/")
    expect(page.get_by_role("status").first).to_contain_text("Votre espace santé est activé")
    assert Person.objects.get(birth_name="NOM1").space_state == SpaceState.ACTIVATED
    sign_in_citizen(page, base_url, "prenom1@exemple.test", "Un-mot-de-passe-2026", smtp_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Prenom1")
    assert console_errors == []


def test_une_personne_informee_s_oppose_et_telecharge_son_recepisse(
    page, base_url, invited, console_errors
):
    """L'opposition demande le code, le NIR, la carte et une confirmation ; un récépissé PDF
    est remis ; ensuite, le même code ne sert plus à rien."""
    code = invited(2)
    page.goto(base_url + "/opposition/")
    fill_identity(page, 2, code)
    page.get_by_text("Je m'oppose à la création de mon espace santé.").click()
    page.get_by_role("button", name="Enregistrer mon opposition").click()
    page.wait_for_url(base_url + "/opposition/enregistree/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre opposition est enregistrée")
    expect(page.get_by_role("status").first).to_contain_text("Aucun espace santé ne sera créé")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le récépissé (PDF)").click()
    text = PdfReader(BytesIO(open(download.value.path(), "rb").read())).pages[0].extract_text()
    assert "NOM2" in text and "Récépissé" in text
    assert Person.objects.get(birth_name="NOM2").space_state == SpaceState.OBJECTED

    page.goto(base_url + "/activer/")
    fill_identity(page, 2, code)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("alert")).to_contain_text("Ce code provisoire a déjà servi")
    assert console_errors == []


def test_les_pages_publiques_sont_accessibles_sur_mobile_avec_et_sans_erreur(
    browser, base_url, invited
):
    """axe-core ne trouve aucune violation grave sur les trois pages publiques (360 px),
    ni sur les messages d'erreur ; rien ne déborde sur le côté."""
    from .test_accessibility import MOBILE, blocking_violations, horizontal_overflow

    context = browser.new_context(locale="fr-FR", viewport=MOBILE)
    page = context.new_page()
    found = []
    for path in ("/activer/", "/opposition/", "/nouveau-code/"):
        page.goto(base_url + path)
        found += blocking_violations(page)
        assert horizontal_overflow(page) == 0, path
        page.get_by_role("button").last.click()  # empty form: the errors are shown
        found += blocking_violations(page)
    context.close()
    assert found == []


def test_marie_ferme_son_espace_depuis_les_parametres_puis_ne_peut_plus_se_connecter(
    page, base_url, personas, smtp_server, console_errors
):
    """Paramètres → Fermer mon espace santé : les conséquences, un code par courriel, l'espace
    est fermé ; une nouvelle connexion explique comment le rouvrir."""
    from .conftest import sign_in_with_password

    email = personas.mother.user.email
    sign_in_citizen(page, base_url, email, personas.password, smtp_server)
    page.goto(base_url + "/parametres/")
    page.get_by_role("link", name="Fermer mon espace santé").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fermer mon espace santé")
    page.get_by_text("J'ai compris que plus aucun professionnel").click()
    page.get_by_role("button", name="Recevoir un code de confirmation par courriel").click()
    page.wait_for_url(base_url + "/parametres/fermeture/confirmer/")
    message = smtp_server.wait_for(email, count=2)
    code = re.search(r"\b(\d{6})\b", smtp_server.body(message)).group(1)
    page.get_by_label("Code reçu par courriel").fill(code)
    page.get_by_role("button", name="Fermer mon espace").click()
    page.wait_for_url(base_url + "/espace-ferme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre espace santé est fermé")
    assert Person.objects.get(pk=personas.mother.pk).space_state == SpaceState.CLOSED

    sign_in_with_password(page, base_url, email, personas.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Cet espace santé est fermé")
    expect(page.get_by_role("link", name="demandez un code provisoire")).to_be_visible()
    assert console_errors == []
