"""« Qui peut voir mon dossier » dans un vrai navigateur : Marie bloque un professionnel,
le retrouve parmi les bloqués, refuse le bris de glace ; accessibilité (axe-core) et
affichage à 360 px de large."""

import pytest
from playwright.sync_api import expect

from espace_sante.access import services as access
from espace_sante.access.policy import Actor, ActorKind

from .conftest import sign_in_citizen
from .test_accessibility import MOBILE, horizontal_overflow
from .test_profile import blocking_violations

pytestmark = pytest.mark.browser

BTG = "Un professionnel peut accéder à mon dossier en urgence (bris de glace)"


def give_consent(personas):
    """Dr Benali records Marie's consent during a consultation."""
    doctor = personas.hospital_doctor
    access.record_consent(
        Actor(ActorKind.PROFESSIONAL, professional_id=doctor.id, profession=doctor.profession),
        personas.mother,
    )
    return doctor


def choose(page, radio) -> None:
    """Pick a DSFR radio or toggle as a keyboard user does (its label covers the input)."""
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()


def open_privacy(page, base_url, personas, smtp_server) -> None:
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Paramètres"
    ).click()
    page.get_by_role("link", name="Qui peut voir mon dossier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Qui peut voir mon dossier")


def test_marie_bloque_un_professionnel_puis_refuse_le_bris_de_glace(
    page, base_url, personas, smtp_server, console_errors
):
    give_consent(personas)
    open_privacy(page, base_url, personas, smtp_server)

    having_access = page.get_by_role(
        "region", name="Les professionnels qui ont accès à mon dossier"
    )
    expect(having_access).to_contain_text("Dr Karim Benali")
    expect(having_access).to_contain_text("Votre consentement du")
    # Her médecin traitant is listed, without a « Bloquer » button.
    expect(having_access).to_contain_text("Dr Claire Martin")
    expect(page.get_by_role("link", name="Bloquer Dr Claire Martin")).to_have_count(0)

    page.get_by_role("link", name="Bloquer Dr Karim Benali").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bloquer Dr Karim Benali ?")
    expect(page.locator("main")).to_contain_text("peut toujours vous envoyer des documents")
    page.get_by_role("button", name="Oui, bloquer Dr Karim Benali").click()

    expect(page.get_by_text("Vous avez bloqué Dr Karim Benali")).to_be_visible()
    blocked = page.get_by_role("region", name="Les professionnels que j'ai bloqués")
    expect(blocked).to_contain_text("Dr Karim Benali")
    expect(blocked.get_by_role("button", name="Débloquer Dr Karim Benali")).to_be_visible()
    expect(page.get_by_role("link", name="Bloquer Dr Karim Benali")).to_have_count(0)

    # Turn « bris de glace » off with the keyboard, then save.
    btg = page.get_by_role("checkbox", name=BTG)
    expect(btg).to_be_checked()
    btg.focus()
    page.keyboard.press("Space")
    expect(btg).not_to_be_checked()
    page.get_by_role("button", name="Enregistrer mes choix pour les urgences").click()
    expect(page.get_by_text("le bris de glace est refusé")).to_be_visible()
    expect(page.get_by_role("checkbox", name=BTG)).not_to_be_checked()
    expect(
        page.get_by_role(
            "checkbox", name="Le médecin régulateur du SAMU peut consulter mon dossier"
        )
    ).to_be_checked()

    current = access.settings_for(personas.mother)
    assert not current.emergency_btg and current.emergency_samu
    assert console_errors == []


def test_axe_et_360_px_sur_les_pages_de_confidentialite(
    page, base_url, personas, smtp_server, console_errors
):
    """La page principale, la confirmation du blocage, « Donner un rôle » avec résultats
    de recherche puis erreur, la confirmation de « Tout masquer » : aucune violation
    « serious » ni « critical », et rien ne déborde à 360 px."""
    give_consent(personas)
    open_privacy(page, base_url, personas, smtp_server)
    visited = []

    def check() -> list[str]:
        visited.append(page.url)
        found = blocking_violations(page)
        page.set_viewport_size(MOBILE)
        overflow = horizontal_overflow(page)
        page.set_viewport_size({"width": 1280, "height": 900})
        if overflow:
            found.append(f"{page.url} — défile en largeur de {overflow} px à 360 px")
        return found

    found = check()
    page.get_by_role("link", name="Bloquer Dr Karim Benali").click()
    found += check()
    page.get_by_role("link", name="Non, revenir en arrière").click()

    page.get_by_role("link", name="Donner un rôle à un professionnel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Donner un rôle à un professionnel")
    page.get_by_label("Nom du professionnel").fill("Lefèvre")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("radio", name="Sophie Lefèvre")).to_be_visible()
    found += check()
    choose(page, page.get_by_role("radio", name="Administrateur de mon dossier"))
    page.get_by_label("Numéro RPPS du professionnel").fill("12345")
    page.get_by_role("button", name="Donner ce rôle").click()
    expect(page.get_by_role("alert")).to_contain_text("11 chiffres")
    expect(page.get_by_label("Numéro RPPS du professionnel")).to_have_attribute(
        "aria-invalid", "true"
    )
    found += check()
    page.get_by_label("Numéro RPPS du professionnel").fill("")
    choose(page, page.get_by_role("radio", name="Sophie Lefèvre"))
    choose(page, page.get_by_role("radio", name="Pharmacien correspondant"))
    page.get_by_role("button", name="Donner ce rôle").click()
    expect(
        page.get_by_text("Sophie Lefèvre est maintenant « Pharmacien correspondant »")
    ).to_be_visible()
    found += check()

    choose(page, page.get_by_role("checkbox", name="Tout masquer, urgences comprises"))
    page.locator("#tout-masquer").locator("..").get_by_role(
        "button", name="Enregistrer ce choix"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tout masquer, urgences comprises ?")
    found += check()
    page.get_by_role("button", name="Oui, tout masquer").click()
    expect(page.get_by_text("tous vos documents sont masqués")).to_be_visible()
    found += check()

    assert len(visited) == 7
    assert found == [], "\n".join(found)
    # The form sent with a wrong RPPS answers 400 on purpose; nothing else may fail.
    assert [e for e in console_errors if "status of 400" not in e] == []
    assert len(console_errors) <= 1


def test_l_historique_met_les_personnes_d_abord_et_range_les_traitements_automatiques(
    page, base_url, personas, smtp_server
):
    """issue 18, item 7: a person's access is never buried under the service's own work."""
    from espace_sante.access import audit
    from espace_sante.access.policy import SYSTEM, Action

    doctor = give_consent(personas)
    for _ in range(25):
        audit.record(SYSTEM, Action.LIST, personas.mother.id)
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.goto(base_url + "/parametres/historique/")
    entries = page.get_by_test_id("historique")
    expect(entries).to_contain_text(doctor.display_name)
    expect(entries).not_to_contain_text("traitement automatique")
    page.get_by_role("link", name="Traitements automatiques").click()
    expect(page.get_by_text("25 entrées")).to_be_visible()
    expect(page.get_by_role("link", name="Je ne reconnais pas cet accès")).to_have_count(0)
