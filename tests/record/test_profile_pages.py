"""The medical profile through its pages, with Django's test client: forms without JavaScript."""

import html
import re

import pytest
from django.urls import reverse

from espace_sante.access.models import AuditEntry
from espace_sante.record.profile import services
from espace_sante.record.profile.models import Allergy, Measure

from .profile_support import SAMPLES, SLUGS, actor, denials, sign_in_professional

pytestmark = pytest.mark.django_db


@pytest.fixture
def marie(client, personas):
    client.force_login(personas.mother.user)
    return personas.mother


def url(patient, *parts) -> str:
    return "/profil/" + "/".join([str(patient.id), *map(str, parts)]) + "/"


def text_of(response) -> str:
    """The page as a reader sees its text (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def test_the_menu_leads_to_her_own_profile_which_lists_every_section(client, marie):
    home = text_of(client.get("/"))
    assert 'href="/profil/"' in home
    response = client.get("/profil/")
    assert response.status_code == 302 and response["Location"] == url(marie)
    response = client.get(url(marie))
    page = text_of(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    for label in (
        "Maladies et sujets de santé",
        "Traitements",
        "Allergies",
        "Vaccinations",
        "Hospitalisations",
        "Antécédents familiaux",
        "Mesures",
        "Habitudes de vie",
        "Handicaps",
        "Groupe sanguin",
        "Entourage et volontés",
        "Télécharger la synthèse (PDF)",
        "Enregistrer la synthèse dans mes documents",
    ):
        assert label in page, label
    assert 'href="/profil/" aria-current="page"' in page  # the menu shows where she is


def test_the_index_summarises_what_is_filled_in(client, marie):
    me = actor(marie)
    services.add_entry(me, marie, "allergies", {"substance": "Pénicilline"})
    services.set_blood_group(me, marie, "AB-")
    services.add_measure(me, marie, "29463-7", {"value": "61,5", "date": "2025-02-03"})
    page = text_of(client.get(url(marie)))
    assert "Pénicilline" in page
    assert "AB− (AB négatif)" in page
    assert "Poids : 61,5 kg, le 03/02/2025" in page
    assert "Aucun traitement indiqué." in page


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_the_titulaire_adds_edits_and_deletes_through_plain_forms(client, marie, key):
    slug = SLUGS[key]
    data, changed, shown, shown_after = SAMPLES[key]
    form = client.get(url(marie, slug, "ajouter"))
    assert form.status_code == 200 and "no-store" in form["Cache-Control"]
    assert "novalidate" in text_of(form)

    response = client.post(url(marie, slug, "ajouter"), data)
    assert response.status_code == 302 and response["Location"] == url(marie, slug)
    page = text_of(client.get(url(marie, slug)))
    assert shown in page
    assert "C'est enregistré" in page
    (row,) = services.list_section(actor(marie), marie, key)

    edit = text_of(client.get(url(marie, slug, row.id, "modifier")))
    assert "Enregistrer" in edit
    response = client.post(url(marie, slug, row.id, "modifier"), changed)
    assert response.status_code == 302
    page = text_of(client.get(url(marie, slug)))
    assert shown_after in page and shown not in page

    confirm = client.get(url(marie, slug, row.id, "supprimer"))
    assert "Voulez-vous vraiment supprimer" in text_of(confirm)
    assert services.list_section(actor(marie), marie, key) != []  # nothing deleted on GET
    response = client.post(url(marie, slug, row.id, "supprimer"))
    assert response.status_code == 302
    assert services.list_section(actor(marie), marie, key) == []


def test_a_wrong_value_comes_back_in_french_linked_to_its_field(client, marie):
    response = client.post(
        url(marie, "maladies", "ajouter"),
        {"name": "Asthme", "start_date": "2020-05-01", "end_date": "2019-01-01"},
    )
    page = text_of(response)
    assert response.status_code == 200
    message = "La date de fin ne peut pas être avant la date de début."
    assert message in page
    field = re.search(r'<input[^>]*name="end_date"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field
    assert re.search(r'aria-describedby="[^"]*id_end_date_error', field)
    assert f'<p class="fr-error-text" id="id_end_date_error">{message}</p>' in page
    assert 'href="#id_end_date"' in page  # the summary at the top links to the field
    assert 'value="Asthme"' in page  # what was typed is kept


def test_radio_groups_are_fieldsets_with_a_legend(client, marie):
    page = text_of(client.get(url(marie, "groupe-sanguin", "modifier")))
    assert '<fieldset class="fr-fieldset" id="id_group"' in page
    assert "<legend" in page and 'type="radio"' in page
    response = client.post(url(marie, "groupe-sanguin", "modifier"), {})
    assert "Choisissez votre groupe sanguin." in text_of(response)
    response = client.post(url(marie, "groupe-sanguin", "modifier"), {"group": "O-"})
    assert response.status_code == 302
    assert "O− (O négatif)" in text_of(client.get(url(marie, "groupe-sanguin")))
    client.post(url(marie, "groupe-sanguin", "effacer"))
    assert "Groupe sanguin non indiqué" in text_of(client.get(url(marie, "groupe-sanguin")))


def test_lifestyle_and_organ_donation_are_edited_in_place(client, marie):
    client.post(url(marie, "habitudes-de-vie", "modifier"), {"sleep": "7 h", "screens": "2 h"})
    page = text_of(client.get(url(marie, "habitudes-de-vie")))
    assert "Sommeil" in page and "7 h" in page
    response = client.post(url(marie, "volontes", "modifier"), {"organ_donation": "accepte"})
    assert response["Location"] == url(marie, "entourage")
    page = text_of(client.get(url(marie, "entourage")))
    assert "J'accepte de donner mes organes et tissus" in page
    assert "Directives anticipées" in page
    assert "Vous n'avez pas encore déposé de directives anticipées." in page


def test_a_measure_page_shows_a_table_and_an_accessible_svg_chart(client, marie):
    for day, value in (("2025-01-10", "64,2"), ("2025-03-10", "63,5"), ("2025-05-10", "62,9")):
        response = client.post(url(marie, "mesures", "poids"), {"value": value, "date": day})
        assert response.status_code == 302
    response = client.get(url(marie, "mesures", "poids"))
    page = text_of(response)
    assert "no-store" in response["Cache-Control"]
    svg = re.search(r"<svg[^>]*es-chart.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="graphique-titre graphique-description"' in svg
    assert '<title id="graphique-titre">Évolution : poids</title>' in svg
    assert "3 mesures" in svg and "dernière valeur 62,9 kg" in svg
    assert svg.count('class="es-chart__point"') == 3
    assert "Date de la mesure" in svg and ">kg</text>" in svg
    assert "style=" not in svg  # the CSP forbids inline styles
    table = re.search(r'<table data-testid="tableau-mesures">.*?</table>', page, re.S).group(0)
    assert table.index("62,9 kg") < table.index("64,2 kg")  # newest first


def test_blood_pressure_is_charted_as_two_series(client, marie):
    for day, high, low in (("2025-01-10", "132", "84"), ("2025-02-10", "128", "80")):
        client.post(
            url(marie, "mesures", "tension-arterielle"),
            {"value": high, "second_value": low, "date": day},
        )
    page = text_of(client.get(url(marie, "mesures", "tension-arterielle")))
    assert page.count('class="es-chart__point"') == 4
    assert page.count("<polyline") == 2
    assert "Pression systolique" in page and "Pression diastolique" in page
    assert "128/80 mmHg" in page


def test_a_wrong_measure_is_refused_in_french_and_nothing_is_saved(client, marie):
    response = client.post(url(marie, "mesures", "poids"), {"value": "500", "date": "2025-01-10"})
    assert response.status_code == 200
    assert "Le poids doit être compris entre 0,5 et 400 kg." in text_of(response)
    assert not Measure.objects.filter(patient=marie).exists()


def test_a_measure_is_deleted_after_confirmation_and_a_target_is_drawn(client, marie):
    client.post(url(marie, "mesures", "poids"), {"value": "70", "date": "2025-01-10"})
    client.post(url(marie, "mesures", "poids", "objectif"), {"value": "65"})
    page = text_of(client.get(url(marie, "mesures", "poids")))
    assert "Votre objectif : <strong>65,0 kg</strong>" in page
    assert 'class="es-chart__target"' in page
    point = services.measure_series(actor(marie), marie, "29463-7")[0]
    confirm = client.get(url(marie, "mesures", "poids", point.id, "supprimer"))
    assert "Voulez-vous vraiment supprimer cette mesure" in text_of(confirm)
    client.post(url(marie, "mesures", "poids", point.id, "supprimer"))
    assert not Measure.objects.filter(patient=marie).exists()


def test_the_measures_page_lists_every_type(client, marie):
    page = text_of(client.get(url(marie, "mesures")))
    for label in ("Poids", "Tension artérielle", "Glycémie", "Hémoglobine glyquée (HbA1c)"):
        assert label in page


def test_another_citizen_and_a_professional_get_404_and_are_traced(client, personas):
    marie, jean = personas.mother, personas.elder
    entry = services.add_entry(actor(marie), marie, "allergies", {"substance": "Pénicilline"})
    paths = [
        url(marie),
        url(marie, "allergies"),
        url(marie, "allergies", "ajouter"),
        url(marie, "allergies", entry.id, "modifier"),
        url(marie, "allergies", entry.id, "supprimer"),
        url(marie, "mesures", "poids"),
        f"/profil/{marie.id}/synthese.pdf",
    ]
    client.force_login(jean.user)
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert client.post(url(marie, "allergies", entry.id, "supprimer")).status_code == 404
    post = client.post(url(marie, "allergies", entry.id, "modifier"), {"substance": "Rien"})
    assert post.status_code == 404
    assert client.post(url(marie, "synthese", "enregistrer")).status_code == 404
    assert denials(marie, "profile:allergies", actor_person_id=jean.id).count() == 6
    assert denials(marie, "profile:summary", actor_person_id=jean.id).count() == 3

    sign_in_professional(client, personas.gp.user)
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert denials(marie, "profile:allergies", actor_professional_id=personas.gp.id).count() == 4
    assert Allergy.objects.get(pk=entry.pk).substance == "Pénicilline"

    # Jean's own profile shows nothing of Marie's, and her entry ids lead nowhere there.
    client.force_login(jean.user)
    assert "Pénicilline" not in text_of(client.get(url(jean, "allergies")))
    assert client.get(url(jean, "allergies", entry.id, "modifier")).status_code == 404


def test_a_professional_or_an_anonymous_visitor_has_no_profile_of_their_own(client, personas):
    assert client.get("/profil/")["Location"].startswith(reverse("account_login"))
    response = client.get(url(personas.mother))
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    sign_in_professional(client, personas.gp.user)
    assert client.get("/profil/").status_code == 404
    assert not AuditEntry.objects.filter(
        outcome="allowed", object_type__startswith="profile"
    ).exists()


def test_an_unknown_section_or_measure_is_404(client, marie):
    assert client.get(url(marie, "inconnu")).status_code == 404
    assert client.get(url(marie, "mesures", "inconnue")).status_code == 404
    assert client.get(url(marie, "groupe-sanguin", "ajouter")).status_code == 404


def test_the_profile_views_reach_health_data_only_through_the_services():
    """The policy point cannot be skipped: no view queries a profile table itself."""
    import inspect

    from espace_sante.record.profile import views as profile_views

    source = inspect.getsource(profile_views)
    assert "record.profile.models" not in source
    assert set(re.findall(r"(\w+)\.objects", source)) <= {"Person"}
