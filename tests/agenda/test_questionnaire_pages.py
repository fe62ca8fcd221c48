"""Mon bilan prévention through its pages, with Django's test client: forms without JavaScript."""

import html

import pytest

from espace_sante.agenda import questionnaires
from espace_sante.agenda.models import QuestionnaireResponse
from tests.record.profile_support import sign_in_professional

from .questionnaire_support import question_about, some_answers, step_of

pytestmark = pytest.mark.django_db

LIST = "/agenda/bilan-prevention/"


def step_url(band: str, number: int) -> str:
    return f"{LIST}{band}/etape/{number}/"


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def jean(client, personas):
    client.force_login(personas.elder.user)
    return personas.elder


def test_the_list_shows_the_four_questionnaires_with_his_own_age_band_first_to_start(client, jean):
    response = client.get(LIST)
    page = text_of(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "<h1>Mon bilan prévention</h1>" in page
    for label in ("de 18 à 25 ans", "de 45 à 50 ans", "de 60 à 65 ans", "de 70 à 75 ans"):
        assert f"Questionnaire {label}" in page
    assert page.count("Non commencé") == 4
    assert page.count("Votre tranche d'âge") == 1
    card = page[page.index('data-testid="questionnaire-70-75"') :]
    assert "Votre tranche d'âge" in card[: card.index("fr-card__footer")]


def test_next_saves_and_leads_to_the_next_step_and_the_start_resumes_there(client, jean):
    q = questionnaires.questionnaire("70-75")
    page = text_of(client.get(step_url("70-75", 1)))
    assert f"Étape 1 sur {len(q.steps)}" in page
    assert 'class="fr-stepper"' in page
    answers = some_answers(q.steps[0])
    response = client.post(step_url("70-75", 1), {**answers, "action": "suivant"})
    assert response.status_code == 302 and response["Location"] == step_url("70-75", 2)
    response = client.post(step_url("70-75", 2), {"action": "plus-tard"})
    assert response.status_code == 302 and response["Location"] == LIST
    page = text_of(client.get(LIST))
    assert f"Vos réponses sont enregistrées. Vous reprendrez à l'étape 2 sur {len(q.steps)}." in (
        page
    )
    assert f"En cours (étape 2 sur {len(q.steps)})" in page
    assert client.get(f"{LIST}70-75/")["Location"] == step_url("70-75", 2)
    # Skipping ahead is not possible; going back shows what was answered.
    assert client.get(step_url("70-75", 5))["Location"] == step_url("70-75", 2)
    page = text_of(client.get(step_url("70-75", 1)))
    first = q.steps[0].questions[0]
    assert f'id="q-{first.link_id}-oui" name="{first.link_id}" value="oui" checked' in page


def test_a_wrong_number_comes_back_with_a_french_error_and_everything_typed(client, jean):
    falls = question_about("70-75", "tombé")
    number = step_of("70-75", falls)
    for earlier in range(1, number):
        step = questionnaires.questionnaire("70-75").steps[earlier - 1]
        client.post(step_url("70-75", earlier), {**some_answers(step), "action": "suivant"})
    step = questionnaires.questionnaire("70-75").steps[number - 1]
    data = {**some_answers(step), falls.link_id: "trois fois", "action": "suivant"}
    response = client.post(step_url("70-75", number), data)
    page = text_of(response)
    assert response.status_code == 400
    assert "Une réponse est à corriger" in page
    assert "Indiquez un nombre entier, sans lettres, entre 0 et 50 (par exemple 3)." in page
    assert 'value="trois fois"' in page
    assert 'aria-invalid="true"' in page
    for question in step.questions:
        if question.kind in ("boolean", "choice"):
            value = data[question.link_id]
            assert f'name="{question.link_id}" value="{value}" checked' in page


def test_the_last_step_completes_and_the_end_page_links_the_document(client, jean):
    q = questionnaires.questionnaire("70-75")
    for number, step in enumerate(q.steps, start=1):
        response = client.post(step_url("70-75", number), {**some_answers(step)})
    assert response["Location"] == f"{LIST}70-75/termine/"
    page = text_of(client.get(response["Location"]))
    row = QuestionnaireResponse.objects.get(patient=jean)
    assert f'href="/documents/{row.document_id}/"' in page
    assert "masquer" in page and "messagerie" in page
    assert "Terminé le" in text_of(client.get(LIST))


def test_a_mother_sees_that_she_fills_it_in_her_sons_space(client, personas):
    client.force_login(personas.mother.user)
    leo = personas.child
    page = text_of(client.get(f"{LIST}?espace={leo.id}"))
    assert f"Mon bilan prévention de {leo.display_name}" in page
    q = questionnaires.questionnaire("18-25")
    response = client.post(
        f"{step_url('18-25', 1)}?espace={leo.id}", {**some_answers(q.steps[0]), "espace": leo.id}
    )
    assert response["Location"] == f"{step_url('18-25', 2)}?espace={leo.id}"
    page = text_of(client.get(response["Location"]))
    assert f"Vous répondez dans l'espace de {leo.display_name}." in page
    assert QuestionnaireResponse.objects.filter(patient=leo).count() == 1


def test_a_stranger_space_and_a_professional_get_not_found(client, personas):
    client.force_login(personas.elder.user)
    marie = personas.mother
    assert client.get(f"{LIST}?espace={marie.id}").status_code == 404
    assert client.get(step_url("99-99", 1)).status_code == 404
    assert client.get(step_url("70-75", 42)).status_code == 404
    client.logout()
    sign_in_professional(client, personas.gp.user)
    assert client.get(LIST).status_code == 404
    assert client.get(step_url("18-25", 1)).status_code == 404
    assert client.get(LIST).status_code != 200
