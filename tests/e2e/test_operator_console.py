"""The operator's console in a browser: its home and menu, and a person found by NIR."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import expect

from espace_sante.identity.models import User

from .conftest import sign_in_with_password, totp_now

pytestmark = pytest.mark.browser

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ"


def test_l_operateur_arrive_sur_sa_console_et_cherche_une_personne_sans_nir_dans_l_adresse(
    page, base_url, personas
):
    password = "Console-operateur-2026"
    user = User.objects.create_user("operateur@exemple.test", password, kind=User.Kind.OPERATOR)
    TOTP.activate(user, SECRET)
    sign_in_with_password(page, base_url, user.email, password)
    page.get_by_label("Code").fill(totp_now(SECRET))
    page.get_by_role("button", name="Connexion", exact=True).click()
    # issue 18, item 9: the console is the home, with a menu, not an error-like page.
    page.wait_for_url(base_url + "/operateur/")
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu.get_by_role("link")).to_have_text(["Campagnes", "Rechercher une personne"])
    expect(page.get_by_text("n'est rattaché à aucun espace")).to_have_count(0)

    menu.get_by_role("link", name="Rechercher une personne").click()
    page.get_by_label("NIR").fill(personas.mother.ins_matricule)
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_test_id("etat")).to_have_text("Activé")
    assert personas.mother.ins_matricule not in page.url
    assert page.url == f"{base_url}/operateur/personnes/{personas.mother.pk}/"
