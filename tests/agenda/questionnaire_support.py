"""Shared by the Mon bilan prévention tests: who acts, and answers to fill a step with."""

from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import questionnaires

MARKER = "MARQUEUR-SECRET-BILAN-77"


def actor(person_or_professional):
    return actor_for_user(person_or_professional.user)


def question_about(band: str, words: str) -> questionnaires.Question:
    """The question of ``band`` whose text contains ``words`` (one, or the test is wrong)."""
    found = [q for q in questionnaires.questionnaire(band).questions.values() if words in q.text]
    assert len(found) == 1, (words, [q.text for q in found])
    return found[0]


def step_of(band: str, question: questionnaires.Question) -> int:
    q = questionnaires.questionnaire(band)
    for number, step in enumerate(q.steps, start=1):
        if question in step.questions:
            return number
    raise AssertionError(question.link_id)


def some_answers(step: questionnaires.Step) -> dict[str, str]:
    """An answer to every question of a step, as the form would send it."""
    data = {}
    for question in step.questions:
        if question.kind == "boolean":
            data[question.link_id] = "oui"
        elif question.kind == "choice":
            data[question.link_id] = question.options[-1].code
        elif question.kind == "integer":
            data[question.link_id] = str((question.min_value or 0) + 2)
        else:
            data[question.link_id] = f"{MARKER} — je voudrais parler de mon sommeil."
    return data


def fill_all(who, patient, band: str, skip: str = "") -> None:
    """Save every step with ``some_answers``, leaving out the question about ``skip``."""
    q = questionnaires.questionnaire(band)
    left_out = question_about(band, skip).link_id if skip else None
    for number, step in enumerate(q.steps, start=1):
        data = some_answers(step)
        data.pop(left_out, None)
        questionnaires.save_step(who, patient, band, number, data)
