"""Messagerie sécurisée dans un vrai navigateur : l'échange complet et l'ordonnance en pharmacie."""

import io

import pytest
from django.core.management import call_command
from PIL import Image
from playwright.sync_api import expect

from tests.record.conftest import make_pdf

from .conftest import TIMEOUT_MS, sign_in_citizen
from .test_portal import find_marie, sign_in_professional
from .test_profile import blocking_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def other_page(browser):
    """A second browser (its own cookies): the professional stays signed in beside Marie."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)


def message_notice(smtp_server, address):
    """The newest « new message » email to ``address`` (not a code, not an access notice)."""
    found = [m for m in smtp_server.to(address) if "Nouveau message" in (m["Subject"] or "")]
    assert found, f"Aucun courriel de nouveau message pour {address}"
    return found[-1]


def nav(page):
    return page.get_by_role("navigation", name="Menu principal")


def test_un_medecin_ecrit_avec_un_pdf_marie_lit_l_ajoute_a_ses_documents_et_repond(
    page, other_page, base_url, personas, smtp_server, tmp_path, console_errors
):
    pdf = tmp_path / "resultats-bilan.pdf"
    pdf.write_bytes(make_pdf("Résultats"))
    doctor = other_page
    sign_in_professional(doctor, base_url, personas.gp, personas)
    find_marie(doctor, personas)
    doctor.get_by_role("link", name="Écrire au patient").click()
    doctor.get_by_label("Objet").fill("Résultats de votre bilan")
    doctor.get_by_label("Message").fill(
        "Bonjour Madame Durand,\nVos résultats sont normaux.\nDétails : https://exemple.fr/bilan"
    )
    doctor.get_by_label("Pièces jointes").set_input_files(str(pdf))
    doctor.get_by_role("button", name="Envoyer le message").click()
    expect(doctor.get_by_text("Votre message est envoyé à Marie DURAND.")).to_be_visible()
    expect(doctor.get_by_test_id("read-ack")).to_have_text("Pas encore lu")

    # Marie is told by email, without health content, and sees the counter.
    run_worker()
    notice = message_notice(smtp_server, personas.mother.user.email)
    assert "Vous avez reçu un nouveau message de Dr Claire Martin" in smtp_server.body(notice)
    assert "bilan" not in smtp_server.body(notice).lower()
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    expect(nav(page).get_by_test_id("unread-count")).to_have_text("1 conversation non lue")
    nav(page).get_by_role("link", name="Messagerie").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messagerie")
    assert blocking_violations(page) == []
    expect(page.get_by_role("link", name="Nouveau message")).to_have_count(0)
    page.get_by_role("link", name="Résultats de votre bilan").click()
    expect(page.get_by_text("Vos résultats sont normaux.")).to_be_visible()
    expect(page.get_by_role("link", name="https://exemple.fr/bilan")).to_be_visible()
    expect(nav(page).get_by_test_id("unread-count")).to_have_count(0)
    assert blocking_violations(page) == []

    # The attachment becomes a document of her own.
    page.get_by_role("link", name="Ajouter à mes documents").click()
    page.get_by_label("Titre du document").fill("Bilan sanguin du Dr Martin")
    page.get_by_label("Type de document").select_option(label="Résultats de biologie")
    page.get_by_role("button", name="Ajouter à mes documents").click()
    expect(page.get_by_text("La pièce jointe est ajoutée à vos documents.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bilan sanguin du Dr Martin")
    nav(page).get_by_role("link", name="Documents").click()
    expect(page.get_by_role("link", name="Bilan sanguin du Dr Martin")).to_be_visible()

    # She replies.
    nav(page).get_by_role("link", name="Messagerie").click()
    page.get_by_role("link", name="Résultats de votre bilan").click()
    page.get_by_label("Votre réponse").fill("Merci docteur, bonne journée.")
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_text("Votre réponse est envoyée.")).to_be_visible()

    # The doctor sees the reply unread first, and that Marie read the message.
    doctor.goto(base_url + "/pro/messagerie/")
    expect(doctor.get_by_text("1 non lu").first).to_be_visible()
    doctor.get_by_role("link", name="Résultats de votre bilan").click()
    expect(doctor.get_by_text("Merci docteur, bonne journée.")).to_be_visible()
    expect(doctor.get_by_test_id("read-ack").first).to_contain_text("Lu le")
    assert console_errors == []


def test_marie_envoie_la_photo_d_une_ordonnance_la_pharmacie_la_prepare_et_elle_est_prevenue(
    page, other_page, base_url, personas, smtp_server, tmp_path
):
    photo = tmp_path / "ordonnance.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (250, 250, 245)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())

    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    nav(page).get_by_role("link", name="Messagerie").click()
    page.get_by_role("link", name="Envoyer une ordonnance à une pharmacie").click()
    page.get_by_label("Nom de la pharmacie, commune ou code postal").fill("Carmes")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Pharmacie des Carmes").click()
    page.get_by_text("Une photo de l'ordonnance", exact=True).click()  # the DSFR label
    page.locator("#id_photo").set_input_files(str(photo))
    page.get_by_label("Message pour la pharmacie").fill("Je passe vers 18 h.")
    page.get_by_role("button", name="Envoyer l'ordonnance").click()
    expect(page.get_by_text("Votre ordonnance est envoyée à Pharmacie des Carmes.")).to_be_visible()
    expect(page.get_by_test_id("prescription-status")).to_have_text("Ordonnance : Reçue")
    assert blocking_violations(page) == []

    pharmacist = other_page
    sign_in_professional(pharmacist, base_url, personas.pharmacist, personas)
    # The prescriptions have their own menu entry, with the unread count; the
    # Messagerie counts only what it lists.
    prescriptions = nav(pharmacist).get_by_role("link", name="Ordonnances reçues")
    expect(prescriptions.get_by_test_id("unread-count")).to_have_text("1 conversation non lue")
    expect(
        nav(pharmacist).get_by_role("link", name="Messagerie").get_by_test_id("unread-count")
    ).to_have_count(0)
    prescriptions.click()
    expect(pharmacist.get_by_test_id("order")).to_contain_text("Reçue")
    # One menu item is the current page, not two.
    current = nav(pharmacist).locator("[aria-current=page]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Ordonnances reçues")
    pharmacist.get_by_role("link", name="Marie DURAND").click()
    expect(pharmacist.get_by_text("Je passe vers 18 h.")).to_be_visible()
    expect(pharmacist.get_by_role("link", name="ordonnance.jpg")).to_be_visible()
    pharmacist.get_by_role("button", name="Marquer « prête à être retirée »").click()
    expect(pharmacist.get_by_text("Statut enregistré : « Prête à être retirée »")).to_be_visible()

    run_worker()
    notice = message_notice(smtp_server, personas.mother.user.email)
    assert "Vous avez reçu un nouveau message de Pharmacie des Carmes" in smtp_server.body(notice)
    page.reload()
    expect(page.get_by_test_id("prescription-status")).to_have_text(
        "Ordonnance : Prête à être retirée"
    )
    expect(page.get_by_text("vous pouvez venir la retirer", exact=False)).to_be_visible()
