"""Mon bilan prévention: the questionnaires as FHIR data, the answers saved encrypted step by
step, who may read them, and the PDF of the answers in the person's documents."""

import io
import json
from pathlib import Path

import pytest
from django.db import connection
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirResponse
from pypdf import PdfReader

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import NotAllowed
from espace_sante.agenda import questionnaires
from espace_sante.agenda.models import QuestionnaireResponse
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document

from .questionnaire_support import MARKER, actor, fill_all, question_about, some_answers, step_of

DATA = Path(questionnaires.__file__).with_name("data") / "questionnaires"
BANDS = ["18-25", "45-50", "60-65", "70-75"]

# What the self-questionnaires ask about, from domain/prevention.md and the public
# Mon bilan prévention questionnaires (written here, not read from the files): each theme
# and words one of its questions (or their answers) must use.
THEMES = {
    "alimentation": ["fruits et légumes"],
    "activité physique": ["activité physique"],
    "dépistage": ["dépistage"],
    "vaccination": ["vaccin"],
    "santé mentale": ["triste", "moral"],
    "sommeil": ["dormez"],
    "tabac": ["tabac"],
    "alcool": ["alcool"],
    "cannabis et autres drogues": ["cannabis", "autres drogues"],
    "écrans": ["écran"],
    "jeux d'argent": ["jeux d'argent"],
    "vivre seul": ["seul(e)"],
    "travail": ["emploi", "activité professionnelle", "travail"],
    "soucis d'argent": ["payer vos dépenses"],
    "aider un proche": ["aidant"],
}
BAND_THEMES = {
    "18-25": {"contraception": ["contraception"], "santé sexuelle": ["santé sexuelle"]},
    "45-50": {"ménopause": ["ménopause"], "cœur": ["infarctus", "tension"]},
    "60-65": {"chutes": ["tombé"], "audition": ["entendre"], "vue": ["vue"]},
    "70-75": {"chutes": ["tombé"], "audition": ["entendre"], "vue": ["vue"]},
}

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(content))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def all_text(band: str) -> str:
    """Every question, and every answer offered, of a questionnaire file."""
    data = json.loads((DATA / f"bilan-prevention-{band}ans.json").read_text(encoding="utf-8"))
    texts = []

    def walk(items):
        for item in items:
            texts.append(item.get("text", ""))
            texts.extend(o["valueCoding"]["display"] for o in item.get("answerOption", []))
            walk(item.get("item", []))

    walk(data["item"])
    return " ".join(texts).lower()


# --- The questionnaires -----------------------------------------------------------


@pytest.mark.parametrize("band", BANDS)
def test_each_file_is_a_valid_fhir_r4_questionnaire_made_of_steps(band):
    path = DATA / f"bilan-prevention-{band}ans.json"
    resource = Questionnaire.model_validate_json(path.read_text(encoding="utf-8"))
    assert resource.status == "active"
    assert resource.id == f"bilan-prevention-{band}ans"  # the rule id in prevention_rules.csv
    assert len(resource.item) >= 5
    for step in resource.item:
        assert step.type == "group", step.linkId
        questions = [item for item in step.item if item.type != "display"]
        assert questions, step.linkId
        for question in questions:
            assert question.type in ("boolean", "choice", "integer", "text"), question.linkId
            if question.type == "choice":
                assert len(question.answerOption) >= 2, question.linkId
    link_ids = [item.linkId for step in resource.item for item in [step, *step.item]]
    assert len(link_ids) == len(set(link_ids)), "linkId en double"


@pytest.mark.parametrize("band", BANDS)
def test_each_questionnaire_asks_about_every_theme_of_the_bilan_and_its_age(band):
    text = all_text(band)
    missing = [
        theme
        for theme, words in {**THEMES, **BAND_THEMES[band]}.items()
        if not any(word.lower() in text for word in words)
    ]
    assert missing == []


def test_the_band_is_the_one_of_the_persons_age(personas):
    from datetime import date

    jean = personas.elder  # born 8 February 1954
    assert questionnaires.band_of(jean, date(2026, 12, 1)) == "70-75"
    assert questionnaires.band_of(jean, date(2030, 2, 7)) == "70-75"  # still 75
    assert questionnaires.band_of(jean, date(2030, 2, 8)) is None  # 76
    assert questionnaires.band_of(personas.mother, date(2026, 12, 1)) is None  # 38


# --- Saving and resuming ----------------------------------------------------------


def test_each_step_saved_moves_the_resume_point_and_the_answers_are_kept(personas):
    jean = personas.elder
    me = actor(jean)
    q = questionnaires.questionnaire("70-75")
    assert questionnaires.current_filling(me, jean, "70-75").resume_step == 1
    first, second = some_answers(q.steps[0]), some_answers(q.steps[1])
    questionnaires.save_step(me, jean, "70-75", 1, first)
    questionnaires.save_step(me, jean, "70-75", 2, second)
    # « Enregistrer et reprendre plus tard » on step 3: kept, but step 3 is not done.
    third = {q.steps[2].questions[0].link_id: "7"}
    questionnaires.save_step(me, jean, "70-75", 3, third, done=False)

    filling = questionnaires.current_filling(me, jean, "70-75")
    assert filling.resume_step == 3
    assert filling.answers == {**first, **second, **third}
    # Coming back to step 1 and changing one answer keeps the rest and the resume point.
    changed = {**first, q.steps[0].questions[0].link_id: "non"}
    questionnaires.save_step(me, jean, "70-75", 1, changed)
    filling = questionnaires.current_filling(me, jean, "70-75")
    assert filling.resume_step == 3
    assert filling.answers[q.steps[0].questions[0].link_id] == "non"
    assert QuestionnaireResponse.objects.filter(patient=jean).count() == 1


def test_a_wrong_number_is_refused_in_french_and_nothing_typed_is_lost(personas):
    jean = personas.elder
    falls = question_about("70-75", "tombé")
    step = step_of("70-75", falls)
    data = some_answers(questionnaires.questionnaire("70-75").steps[step - 1])
    data[falls.link_id] = "trois fois"
    with pytest.raises(questionnaires.QuestionnaireInvalid) as refused:
        questionnaires.save_step(actor(jean), jean, "70-75", step, data)
    assert refused.value.errors == {
        falls.link_id: "Indiquez un nombre entier, sans lettres, entre 0 et 50 (par exemple 3)."
    }
    assert refused.value.values == data  # everything typed, the wrong answer included
    data[falls.link_id] = "51"
    with pytest.raises(questionnaires.QuestionnaireInvalid) as refused:
        questionnaires.save_step(actor(jean), jean, "70-75", step, data)
    assert refused.value.errors[falls.link_id] == "Indiquez un nombre entre 0 et 50."
    assert not QuestionnaireResponse.objects.filter(patient=jean).exists()


def test_the_response_is_a_fhir_questionnaire_response_stored_only_encrypted(personas):
    jean = personas.elder
    q = questionnaires.questionnaire("70-75")
    fill_all(actor(jean), jean, "70-75")
    row = QuestionnaireResponse.objects.get(patient=jean)
    # Read back with the patient's key: a valid FHIR R4 QuestionnaireResponse, in progress.
    resource = FhirResponse.model_validate_json(row.content)
    assert resource.status == "in-progress"
    assert resource.questionnaire == q.canonical
    assert resource.subject.reference == f"Patient/{jean.id}"
    assert MARKER in row.content
    # In the database: ciphertext only; no answer, no question, no code in clear.
    tobacco = question_about("70-75", "Fumez-vous")
    needles = [MARKER.encode(), tobacco.text.encode(), tobacco.link_id.encode(), b"valueCoding"]
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(QuestionnaireResponse._meta.db_table)
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (our model's table)
        cells = [
            bytes(value) if isinstance(value, memoryview | bytes) else str(value).encode()
            for found in cursor.fetchall()
            for value in found
            if value is not None
        ]
    assert cells
    assert [needle for needle in needles if any(needle in cell for cell in cells)] == []
    assert row.questionnaire_id == "bilan-prevention-70-75ans"
    assert row.status == "in-progress"
    # The audit trail names the response, never its content.
    for entry in AuditEntry.objects.filter(patient_id=jean.id):
        assert MARKER not in entry.reason


# --- Who may read and write -------------------------------------------------------


def test_a_professional_even_her_medecin_traitant_cannot_read_the_answers_refused_and_traced(
    personas,
):
    marie = personas.mother
    fill_all(actor(marie), marie, "18-25")
    gp = actor(personas.gp)  # Marie's médecin traitant
    attempts = [
        lambda: questionnaires.overview(gp, marie),
        lambda: questionnaires.current_filling(gp, marie, "18-25"),
        lambda: questionnaires.last_completed(gp, marie, "18-25"),
        lambda: questionnaires.save_step(gp, marie, "18-25", 1, {}),
        lambda: questionnaires.complete(gp, marie, "18-25"),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
    refused = AuditEntry.objects.filter(
        patient_id=marie.id,
        object_type="agenda:questionnaire",
        actor_professional_id=personas.gp.id,
        outcome=AuditEntry.Outcome.DENIED,
    )
    assert sorted(refused.values_list("action", flat=True)) == sorted(
        ["list", "read", "read", "update", "update"]
    )
    assert QuestionnaireResponse.objects.get(patient=marie).status == "in-progress"


def test_another_citizen_and_an_anonymous_visitor_are_refused(personas):
    marie, jean = personas.mother, personas.elder
    fill_all(actor(marie), marie, "18-25")
    for who in (actor(jean), None):
        with pytest.raises(NotAllowed):
            questionnaires.current_filling(who, marie, "18-25")
        with pytest.raises(NotAllowed):
            questionnaires.save_step(who, marie, "18-25", 1, {})
    denied = AuditEntry.objects.filter(
        patient_id=marie.id, object_type="agenda:questionnaire", outcome="denied"
    )
    assert denied.filter(actor_person_id=jean.id).count() == 2
    assert denied.filter(actor_kind="anonymous").count() == 2


def test_a_mother_fills_the_questionnaire_in_her_childs_space_as_his_representative(personas):
    marie, leo = personas.mother, personas.child
    q = questionnaires.questionnaire("18-25")
    questionnaires.save_step(actor(marie), leo, "18-25", 1, some_answers(q.steps[0]))
    assert questionnaires.current_filling(actor(marie), leo, "18-25").resume_step == 2
    saved = AuditEntry.objects.get(
        patient_id=leo.id, object_type="agenda:questionnaire", action="create"
    )
    assert saved.actor_person_id == marie.id and saved.mode == "representative"
    assert not QuestionnaireResponse.objects.filter(patient=marie).exists()


# --- Completion: the PDF in Documents -----------------------------------------------


def test_completing_saves_a_pdf_of_the_answers_in_the_persons_documents(personas):
    jean = personas.elder
    me = actor(jean)
    fill_all(me, jean, "70-75", skip="Portez-vous un appareil auditif")
    completed = questionnaires.complete(me, jean, "70-75")

    row = QuestionnaireResponse.objects.get(patient=jean)
    assert row.status == "completed" and row.completed_at is not None
    assert FhirResponse.model_validate_json(row.content).status == "completed"
    document = documents.access_document(me, completed.document_id)
    assert document.type_code == "74465-6"
    assert document.category == "QUEST_SANTE"
    assert document.source == Document.Source.PATIENT
    assert document.mime_type == "application/pdf"
    title = documents.document_title(document)
    assert title.startswith("Mon bilan prévention — questionnaire de 70 à 75 ans, rempli le ")
    listed = documents.list_documents(me, jean.id, category="QUEST_SANTE")
    assert [item.document.id for item in listed] == [document.id]

    pages = pdf_text(documents.read_content(document))
    text = " ".join(pages)
    # No empty page: every page (its footer aside) shows questions.
    assert all("?" in page for page in pages), "page sans question dans le PDF"
    for expected in (
        "Mon bilan prévention — questionnaire des 70 à 75 ans",
        "PETIT",
        "Jean Pierre André",
        "8 février 1954",
        "Questionnaire rempli le",
        "Fumez-vous du tabac ?",
        "Tous les jours",  # the last answer offered, which some_answers picks
        MARKER,
        "Pas de réponse",  # the hearing-aid question left out
    ):
        assert expected in text, expected
    for step in questionnaires.questionnaire("70-75").steps:
        assert step.title in text


def test_completing_twice_saves_one_document_and_an_unfinished_one_cannot_be_completed(
    personas,
):
    jean = personas.elder
    me = actor(jean)
    q = questionnaires.questionnaire("70-75")
    for number in (1, 2):
        questionnaires.save_step(me, jean, "70-75", number, some_answers(q.steps[number - 1]))
    with pytest.raises(questionnaires.QuestionnaireIncomplete) as missing:
        questionnaires.complete(me, jean, "70-75")
    assert missing.value.step == 3
    fill_all(me, jean, "70-75")
    first = questionnaires.complete(me, jean, "70-75")
    again = questionnaires.complete(me, jean, "70-75")
    assert again.document_id == first.document_id
    assert Document.objects.filter(patient=jean, type_code="74465-6").count() == 1


def test_the_overview_tells_each_state_and_highlights_the_persons_band(personas):
    from datetime import date

    jean = personas.elder
    me = actor(jean)
    fill_all(me, jean, "70-75")
    questionnaires.complete(me, jean, "70-75")
    q = questionnaires.questionnaire("60-65")
    questionnaires.save_step(me, jean, "60-65", 1, some_answers(q.steps[0]))
    states = {s.questionnaire.band: s for s in questionnaires.overview(me, jean, date(2026, 12, 1))}
    assert states["70-75"].is_persons_band and not states["60-65"].is_persons_band
    assert states["70-75"].completed is not None and states["70-75"].in_progress is None
    assert states["60-65"].in_progress.resume_step == 2
    assert states["18-25"].in_progress is None and states["18-25"].completed is None


def test_the_history_names_the_questionnaire_and_the_refused_professional(personas):
    from espace_sante.access import history

    marie = personas.mother
    q = questionnaires.questionnaire("18-25")
    questionnaires.save_step(actor(marie), marie, "18-25", 1, some_answers(q.steps[0]))
    with pytest.raises(NotAllowed):
        questionnaires.current_filling(actor(personas.gp), marie, "18-25")
    mine = history.history_page(actor(marie), marie.id, tab="mes-actions").items
    assert any(
        "vos réponses au questionnaire Mon bilan prévention" in item.sentence for item in mine
    ), [item.sentence for item in mine]
    others = history.history_page(actor(marie), marie.id, tab="professionnels").items
    assert any(
        "tenté" in item.sentence and "Mon bilan prévention" in item.sentence for item in others
    ), [item.sentence for item in others]


def test_all_steps_saved_but_not_finished_resumes_at_the_last_step(personas):
    jean = personas.elder
    me = actor(jean)
    fill_all(me, jean, "70-75")
    filling = questionnaires.current_filling(me, jean, "70-75")
    assert filling.all_saved
    assert filling.shown_step == len(questionnaires.questionnaire("70-75").steps)
