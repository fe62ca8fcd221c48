"""Mon bilan prévention: the self-questionnaires, their answers, their PDF in Documents.

The four questionnaires (18–25, 45–50, 60–65, 70–75 years) are FHIR R4
``Questionnaire`` resources shipped as data (``data/questionnaires/*.json``),
validated with fhir.resources when first read. Each top-level item is a group:
one step, one page. The person's answers are a FHIR ``QuestionnaireResponse``,
stored encrypted in ``QuestionnaireResponse.content``; each step saved moves the
resume point forward, so leaving and coming back starts where they stopped.

Every read and write goes through ``access.guard`` with the section
``agenda:questionnaire``: the patient's side (titulaire, representative, aidant)
may do everything; professionals may not read the answers (the policy gives
them only ``PROFESSIONAL_PROFILE_SECTIONS``). They read the PDF, a normal
document, when the person leaves it visible or sends it.
"""

import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from espace_sante.access.guard import guard
from espace_sante.access.policy import Action, Actor, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document

from .questionnaire_models import QuestionnaireResponse

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

SECTION = "agenda:questionnaire"
DATA_DIR = Path(__file__).with_name("data") / "questionnaires"
BANDS = ("18-25", "45-50", "60-65", "70-75")
# LOINC "Questionnaire response Document", category QUEST_SANTE (document_types.csv).
DOCUMENT_TYPE = "74465-6"
RESUME_EXTENSION = "https://espace-sante.fr/fhir/StructureDefinition/etape-de-reprise"
AGE_BAND_EXTENSION = "https://espace-sante.fr/fhir/StructureDefinition/tranche-age"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
TEXT_MAX_LENGTH = 2000
YES, NO = "oui", "non"


# --- The questionnaires (data) ------------------------------------------------------


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    system: str = ""


@dataclass(frozen=True)
class Question:
    link_id: str
    text: str
    kind: str  # boolean, choice, integer, text (FHIR item types)
    options: tuple[Option, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    theme: str = ""

    @property
    def choices(self) -> tuple[Option, ...]:
        """What the person picks from: the options, or Oui / Non for a boolean."""
        if self.kind == "boolean":
            return (Option(YES, "Oui"), Option(NO, "Non"))
        return self.options

    @property
    def hint(self) -> str:
        """What the field expects, under its label."""
        if self.kind == "integer" and self.min_value is not None and self.max_value is not None:
            return f"Un nombre entier, entre {self.min_value} et {self.max_value}."
        if self.kind == "text":
            return f"Facultatif, {TEXT_MAX_LENGTH} caractères au plus."
        return ""

    @property
    def inline(self) -> bool:
        """Short answers side by side (Oui / Non), longer ones one per line."""
        return len(self.choices) <= 3 and all(len(o.label) <= 16 for o in self.choices)

    def label_of(self, value: str) -> str:
        """The answer as the person reads it (the label of a choice)."""
        for option in self.choices:
            if option.code == value:
                return option.label
        return value


@dataclass(frozen=True)
class Step:
    link_id: str
    title: str
    intro: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    band: str
    id: str
    url: str
    version: str
    title: str
    description: str
    age_from: int
    age_to: int
    steps: tuple[Step, ...]

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    @property
    def questions(self) -> dict[str, Question]:
        return {q.link_id: q for step in self.steps for q in step.questions}

    @property
    def band_label(self) -> str:
        return f"de {self.age_from} à {self.age_to} ans"


def _extension(item: Mapping[str, Any], url: str) -> Any:
    for extension in item.get("extension", []):
        if extension.get("url") == url:
            return extension
    return None


def _integer_extension(item: Mapping[str, Any], url: str) -> int | None:
    found = _extension(item, url)
    return None if found is None else int(found["valueInteger"])


def _question(item: Mapping[str, Any]) -> Question:
    kind = item["type"]
    if kind not in ("boolean", "choice", "integer", "text", "string"):
        raise ValueError(f"Question {item['linkId']} : type « {kind} » non géré.")
    options = tuple(
        Option(
            option["valueCoding"]["code"],
            option["valueCoding"]["display"],
            option["valueCoding"].get("system", ""),
        )
        for option in item.get("answerOption", [])
    )
    codes = item.get("code", [])
    return Question(
        link_id=item["linkId"],
        text=item["text"],
        kind="text" if kind == "string" else kind,
        options=options,
        min_value=_integer_extension(item, MIN_VALUE),
        max_value=_integer_extension(item, MAX_VALUE),
        theme=codes[0]["code"] if codes else "",
    )


def _step(group: Mapping[str, Any]) -> Step:
    if group["type"] != "group":
        raise ValueError(
            f"Étape {group['linkId']} : chaque élément de premier niveau est un groupe."
        )
    children = group.get("item", [])
    intro = " ".join(child["text"] for child in children if child["type"] == "display")
    questions = tuple(_question(child) for child in children if child["type"] != "display")
    return Step(group["linkId"], group["text"], intro, questions)


@cache
def questionnaire(band: str) -> Questionnaire:
    """The questionnaire of an age band (``"70-75"``); ``KeyError`` for an unknown band.

    The file is checked as a FHIR R4 Questionnaire when first read: a broken
    file stops the page with a message naming it, never a half-rendered form.
    """
    from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire

    if band not in BANDS:
        raise KeyError(band)
    path = DATA_DIR / f"bilan-prevention-{band}ans.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    FhirQuestionnaire.model_validate(data)
    ages = _extension(data, AGE_BAND_EXTENSION)["valueRange"]
    return Questionnaire(
        band=band,
        id=data["id"],
        url=data["url"],
        version=data["version"],
        title=data["title"],
        description=data.get("description", ""),
        age_from=int(ages["low"]["value"]),
        age_to=int(ages["high"]["value"]),
        steps=tuple(_step(group) for group in data["item"]),
    )


def questionnaire_file(band: str) -> Path:
    return DATA_DIR / f"bilan-prevention-{band}ans.json"


def age_on(person: Person, day: date) -> int:
    birth = person.birth_date
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def band_of(person: Person, today: date | None = None) -> str | None:
    """The age band the person is in today, or None between bands."""
    age = age_on(person, today or timezone.localdate())
    for band in BANDS:
        low, high = (int(part) for part in band.split("-"))
        if low <= age <= high:
            return band
    return None


# --- Answers: validation and the FHIR QuestionnaireResponse ------------------------


class QuestionnaireInvalid(ValidationError):
    """Answers refused; ``errors`` maps a question to its French message, ``values`` keeps
    everything the person typed, so the page shows it again."""

    def __init__(self, errors: dict[str, str], values: dict[str, str]) -> None:
        self.errors = errors
        self.values = values
        super().__init__(errors)


class QuestionnaireIncomplete(ValidationError):
    """Finishing refused: a step was never saved; ``step`` is its number (1-based)."""

    def __init__(self, step: int) -> None:
        self.step = step
        super().__init__(f"L'étape {step} n'a pas encore été enregistrée.")


def _number_text(question: Question) -> str:
    if question.min_value is not None and question.max_value is not None:
        return f"entre {question.min_value} et {question.max_value}"
    return ""


def _check(question: Question, value: str) -> str:
    """The French message for an answer that cannot be kept, or ""."""
    if value == "":
        return ""  # every question may be left without an answer
    if question.kind in ("boolean", "choice"):
        if value not in {option.code for option in question.choices}:
            return "Choisissez une des réponses proposées."
        return ""
    if question.kind == "integer":
        bounds = _number_text(question)
        if not value.isdigit():
            example = f"Indiquez un nombre entier, sans lettres, {bounds} (par exemple 3)."
            return example if bounds else "Indiquez un nombre entier, sans lettres (par exemple 3)."
        number = int(value)
        if (question.min_value is not None and number < question.min_value) or (
            question.max_value is not None and number > question.max_value
        ):
            return f"Indiquez un nombre {bounds}."
        return ""
    if len(value) > TEXT_MAX_LENGTH:
        return (
            f"Votre texte est trop long : {TEXT_MAX_LENGTH} caractères au plus "
            f"(il en compte {len(value)}). Raccourcissez-le pour l'enregistrer."
        )
    return ""


def validate_step(step: Step, data: Mapping[str, Any]) -> dict[str, str]:
    """The step's answers as texts, or ``QuestionnaireInvalid`` with what was typed."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for question in step.questions:
        raw = data.get(question.link_id, "")
        value = str(raw if raw is not None else "").strip()
        compact = value.replace(" ", "").replace("\u202f", "")
        if question.kind == "integer" and compact.isdigit():
            value = compact  # « 1 200 » is a number; anything else is shown back as typed
        values[question.link_id] = value
        message = _check(question, value)
        if message:
            errors[question.link_id] = message
    if errors:
        raise QuestionnaireInvalid(errors, values)
    return values


def _answer(question: Question, value: str) -> dict[str, Any]:
    if question.kind == "boolean":
        return {"valueBoolean": value == YES}
    if question.kind == "integer":
        return {"valueInteger": int(value)}
    if question.kind == "choice":
        option = next(o for o in question.options if o.code == value)
        coding = {"code": option.code, "display": option.label}
        if option.system:
            coding = {"system": option.system, **coding}
        return {"valueCoding": coding}
    return {"valueString": value}


def _value(answer: Mapping[str, Any]) -> str:
    if "valueBoolean" in answer:
        return YES if answer["valueBoolean"] else NO
    if "valueInteger" in answer:
        return str(answer["valueInteger"])
    if "valueCoding" in answer:
        return str(answer["valueCoding"]["code"])
    return str(answer.get("valueString", ""))


def response_resource(
    q: Questionnaire,
    patient: Person,
    response_id: uuid.UUID,
    answers: Mapping[str, str],
    resume_step: int,
    status: str,
    authored: datetime,
) -> dict[str, Any]:
    """The FHIR QuestionnaireResponse of these answers (only answered questions appear)."""
    groups = []
    for step in q.steps:
        items = [
            {
                "linkId": question.link_id,
                "text": question.text,
                "answer": [_answer(question, answers[question.link_id])],
            }
            for question in step.questions
            if answers.get(question.link_id, "") != ""
        ]
        if items:
            groups.append({"linkId": step.link_id, "text": step.title, "item": items})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response_id),
        "questionnaire": q.canonical,
        "status": status,
        "subject": {"reference": f"Patient/{patient.id}"},
        "authored": authored.isoformat(),
        "extension": [{"url": RESUME_EXTENSION, "valueInteger": resume_step}],
    }
    if groups:
        resource["item"] = groups
    return resource


def _read_resource(content: str) -> tuple[dict[str, str], int]:
    """The answers (link id → text) and the resume step of a stored response."""
    if not content:
        return {}, 1
    resource = json.loads(content)
    answers = {
        item["linkId"]: _value(item["answer"][0])
        for group in resource.get("item", [])
        for item in group.get("item", [])
        if item.get("answer")
    }
    resume = _extension(resource, RESUME_EXTENSION)
    return answers, int(resume["valueInteger"]) if resume else 1


# --- What a person has filled ------------------------------------------------------


@dataclass
class Filling:
    """One questionnaire as the person left it: answers so far and where to resume."""

    questionnaire: Questionnaire
    answers: dict[str, str] = field(default_factory=dict)
    resume_step: int = 1  # the first step not yet saved with « Suivant »
    response_id: uuid.UUID | None = None
    started_at: datetime | None = None

    @property
    def started(self) -> bool:
        return self.response_id is not None

    @property
    def step_count(self) -> int:
        return len(self.questionnaire.steps)

    @property
    def shown_step(self) -> int:
        """The step the person is taken back to (the last one once all are saved)."""
        return min(self.resume_step, self.step_count)

    @property
    def all_saved(self) -> bool:
        return self.resume_step > self.step_count


@dataclass
class Completed:
    """A completed questionnaire: when, and the PDF saved in the person's documents."""

    response_id: uuid.UUID
    completed_at: datetime
    document_id: uuid.UUID | None


@dataclass
class BandState:
    """A line of the overview: a questionnaire, its state for the person, theirs or not."""

    questionnaire: Questionnaire
    in_progress: Filling | None
    completed: Completed | None
    is_persons_band: bool


def _scoped(patient: Person) -> QuerySet[QuestionnaireResponse]:
    # Every query names one patient (rule 2).
    return QuestionnaireResponse.objects.filter(patient_id=patient.id)


def _filling(q: Questionnaire, row: QuestionnaireResponse | None) -> Filling:
    if row is None:
        return Filling(q)
    answers, resume = _read_resource(row.content)
    return Filling(q, answers, min(resume, len(q.steps) + 1), row.id, row.created_at)


def _completed(row: QuestionnaireResponse) -> Completed:
    return Completed(row.id, row.completed_at or row.updated_at, row.document_id)


def overview(actor: Actor | None, patient: Person, today: date | None = None) -> list[BandState]:
    """The four questionnaires and, for each, what the person has done (one traced list)."""
    access = guard(actor, Action.LIST, patient.id, section=SECTION, trace=False)
    mine = band_of(patient, today)
    with transaction.atomic():
        rows = list(_scoped(patient).order_by("-created_at"))
        access.trace()
    states = []
    for band in BANDS:
        q = questionnaire(band)
        own = [row for row in rows if row.questionnaire_id == q.id]
        running = next(
            (r for r in own if r.status == QuestionnaireResponse.Status.IN_PROGRESS), None
        )
        done = next((r for r in own if r.status == QuestionnaireResponse.Status.COMPLETED), None)
        states.append(
            BandState(
                q,
                _filling(q, running) if running else None,
                _completed(done) if done else None,
                band == mine,
            )
        )
    return states


def current_filling(actor: Actor | None, patient: Person, band: str) -> Filling:
    """The questionnaire in progress (answers, resume step), or a blank one (traced read)."""
    q = questionnaire(band)
    access = guard(actor, Action.READ, patient.id, section=SECTION, trace=False)
    with transaction.atomic():
        row = _in_progress(patient, q).first()
        access.trace(row)
    return _filling(q, row)


def last_completed(actor: Actor | None, patient: Person, band: str) -> Completed | None:
    """The latest completed answers of this questionnaire, or None (traced read)."""
    q = questionnaire(band)
    access = guard(actor, Action.READ, patient.id, section=SECTION, trace=False)
    with transaction.atomic():
        row = (
            _scoped(patient)
            .filter(questionnaire_id=q.id, status=QuestionnaireResponse.Status.COMPLETED)
            .order_by("-completed_at")
            .first()
        )
        access.trace(row)
    return _completed(row) if row else None


def _in_progress(patient: Person, q: Questionnaire) -> QuerySet[QuestionnaireResponse]:
    return _scoped(patient).filter(
        questionnaire_id=q.id, status=QuestionnaireResponse.Status.IN_PROGRESS
    )


def save_step(
    actor: Actor | None,
    patient: Person,
    band: str,
    number: int,
    data: Mapping[str, Any],
    *,
    done: bool = True,
) -> Filling:
    """Save the answers of step ``number`` (1-based); start the response on the first save.

    ``done`` (« Suivant ») moves the resume point past this step; « Enregistrer
    et reprendre plus tard » saves with ``done=False``: the person comes back
    to the step they left. Invalid answers raise ``QuestionnaireInvalid``
    (nothing saved, everything typed kept for the page).
    """
    q = questionnaire(band)
    if not 1 <= number <= len(q.steps):
        raise NotAllowed
    exists = _in_progress(patient, q).exists()
    access = guard(
        actor, Action.UPDATE if exists else Action.CREATE, patient.id, section=SECTION, trace=False
    )
    values = validate_step(q.steps[number - 1], data)
    crypto.ensure_keys(patient)
    for attempt in range(2):
        try:
            with transaction.atomic():
                # Locked: two tabs saving at once must not overwrite each other's step.
                row = _in_progress(patient, q).select_for_update().first()
                creating = row is None
                if row is None:
                    row = QuestionnaireResponse(
                        patient=patient,
                        questionnaire_id=q.id,
                        questionnaire_version=q.version,
                    )
                answers, resume = _read_resource("" if creating else row.content)
                answers.update(values)
                if done:
                    resume = max(resume, number + 1)
                row.content = json.dumps(
                    response_resource(
                        q,
                        patient,
                        row.id,
                        answers,
                        resume,
                        QuestionnaireResponse.Status.IN_PROGRESS,
                        timezone.now(),
                    ),
                    ensure_ascii=False,
                )
                row.save()
                access.trace(row, event=Action.CREATE if creating else Action.UPDATE)
            return _filling(q, row)
        except IntegrityError:
            # The other tab created the response first: the second attempt updates it.
            if attempt:
                raise
    raise AssertionError("unreachable")


# --- Completion: the PDF in Documents ----------------------------------------------


def document_title(q: Questionnaire, day: date) -> str:
    with translation.override("fr"):
        return (
            f"Mon bilan prévention — questionnaire {q.band_label}, "
            f"rempli le {formats.date_format(day, 'j F Y')}"
        )


def _safe_url_fetcher() -> "URLFetcher":
    from weasyprint.urls import URLFetcher

    # Nothing from outside is embedded: a text typed by the person cannot make
    # the server fetch anything (as the profile summary).
    return URLFetcher(allowed_protocols=())


def answers_pdf(q: Questionnaire, patient: Person, answers: Mapping[str, str], day: date) -> bytes:
    """The printable answers (WeasyPrint): who, when, each question and its answer."""
    from weasyprint import HTML

    steps = [
        (
            step,
            [
                (question, question.label_of(answers.get(question.link_id, "")))
                for question in step.questions
            ],
        )
        for step in q.steps
    ]
    with translation.override("fr"):
        html = render_to_string(
            "agenda/questionnaire_pdf.html",
            {"questionnaire": q, "patient": patient, "today": day, "steps": steps},
        )
    pdf: bytes = HTML(string=html, url_fetcher=_safe_url_fetcher()).write_pdf()
    return pdf


def complete(actor: Actor | None, patient: Person, band: str) -> Completed:
    """Finish the questionnaire: status completed, its PDF added to the person's documents.

    The PDF goes through the documents' own ``add_document`` (its guard, its
    checks, its audit entry), type 74465-6 in the category « Questionnaire
    santé »: a normal document, visible to professionals by the usual rules
    unless the person masks it. Sent twice (a double click), it completes once.
    """
    q = questionnaire(band)
    access = guard(actor, Action.UPDATE, patient.id, section=SECTION, trace=False)
    filling = _filling(q, _in_progress(patient, q).first())
    if not filling.started:
        done = _scoped(patient).filter(
            questionnaire_id=q.id, status=QuestionnaireResponse.Status.COMPLETED
        )
        row = done.order_by("-completed_at").first()
        if row is not None:
            return _completed(row)  # completed by the same request sent twice
        raise QuestionnaireIncomplete(1)
    if not filling.all_saved:
        raise QuestionnaireIncomplete(filling.resume_step)
    today = timezone.localdate()
    content = answers_pdf(q, patient, filling.answers, today)
    upload = io.BytesIO(content)
    upload.name = f"bilan-prevention-{band}-{today:%Y-%m-%d}.pdf"
    with transaction.atomic():
        response_id = str(filling.response_id)
        row = _in_progress(patient, q).select_for_update().filter(pk=response_id).first()
        if row is None:
            # The other click completed it while this one made the PDF.
            transaction.set_rollback(True)
            finished = _scoped(patient).filter(pk=response_id).first()
            if finished is None:
                raise NotAllowed
            return _completed(finished)
        document = documents.add_document(
            actor,
            patient,
            upload,
            documents.NewDocument(
                title=document_title(q, today),
                type_code=DOCUMENT_TYPE,
                source=Document.Source.PATIENT,
                document_date=today,
            ),
        )
        answers, resume = _read_resource(row.content)
        now = timezone.now()
        row.content = json.dumps(
            response_resource(
                q, patient, row.id, answers, resume, QuestionnaireResponse.Status.COMPLETED, now
            ),
            ensure_ascii=False,
        )
        row.status = QuestionnaireResponse.Status.COMPLETED
        row.completed_at = now
        row.document_id = document.id
        row.save()
        access.trace(row)
    return _completed(row)
