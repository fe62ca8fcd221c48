"""The medical profile: add, change, delete and read its sections; measures; the summary.

Every function takes the acting ``Actor`` and the patient (a ``Person``), goes
through ``access.guard`` first, and appends to the audit trail in the same
transaction as the change or the read (object type ``profile:<section>``). A
refusal is traced too, committed on its own, then raised as ``NotAllowed``
(pages answer 404). Input is validated by the forms of ``profile_forms``
whatever the door, so a French message is written once; invalid input raises
``ProfileInvalid`` carrying the bound form.

Length (about 650 lines): thirteen sections share one generic path (list, add,
change, delete); measures and the summary follow. Split when record becomes
documents and profile packages.
"""

import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from espace_sante.access.guard import Access, guard
from espace_sante.access.policy import Action, Actor, ActorKind, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person

from . import forms
from .models import (
    Allergy,
    BloodGroup,
    Condition,
    Contact,
    Disability,
    FamilyHistory,
    Hospitalisation,
    Lifestyle,
    Measure,
    MeasureTarget,
    ProfileEntry,
    Treatment,
    Vaccination,
    Wishes,
)
from .reference import (
    MEASURE_TYPES,
    MEASURES,
    SECTION_INFO,
    MeasureType,
    SectionInfo,
    french_number,
)

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

    from espace_sante.record.documents.models import Document
    from espace_sante.record.documents.services import ListedDocument

_Entry = TypeVar("_Entry", bound=ProfileEntry)


class ProfileInvalid(ValidationError):
    """Input refused; ``form`` holds the data and the French message of each field."""

    def __init__(self, form: forms.ProfileForm) -> None:
        self.form = form
        super().__init__(
            {name: [str(message) for message in errors] for name, errors in form.errors.items()}
        )


@dataclass(frozen=True)
class Section:
    """A section of the profile: its page, its table, its form, its order."""

    info: SectionInfo
    model: type[ProfileEntry]
    form: type[forms.ProfileForm]
    order_by: tuple[str, ...]
    singleton: bool = False  # one row per patient (habits, blood group, wishes)

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def object_type(self) -> str:
        return f"profile:{self.info.key}"


_SECTIONS = [
    Section(
        SECTION_INFO["conditions"],
        Condition,
        forms.ConditionForm,
        ("-start_date", "-created_at"),
    ),
    Section(
        SECTION_INFO["treatments"],
        Treatment,
        forms.TreatmentForm,
        ("-start_date", "-created_at"),
    ),
    Section(SECTION_INFO["allergies"], Allergy, forms.AllergyForm, ("created_at",)),
    Section(
        SECTION_INFO["vaccinations"],
        Vaccination,
        forms.VaccinationForm,
        ("-vaccinated_on", "-created_at"),
    ),
    Section(
        SECTION_INFO["hospitalisations"],
        Hospitalisation,
        forms.HospitalisationForm,
        ("-start_date",),
    ),
    Section(
        SECTION_INFO["family_history"], FamilyHistory, forms.FamilyHistoryForm, ("created_at",)
    ),
    Section(SECTION_INFO["lifestyle"], Lifestyle, forms.LifestyleForm, (), singleton=True),
    Section(SECTION_INFO["disabilities"], Disability, forms.DisabilityForm, ("created_at",)),
    Section(SECTION_INFO["blood_group"], BloodGroup, forms.BloodGroupForm, (), singleton=True),
    Section(SECTION_INFO["contacts"], Contact, forms.ContactForm, ("created_at",)),
    Section(SECTION_INFO["wishes"], Wishes, forms.WishesForm, (), singleton=True),
]
SECTIONS = {section.key: section for section in _SECTIONS}
SECTIONS_BY_SLUG = {section.info.slug: section for section in _SECTIONS}
MEASURES_TYPE = "profile:measures"
SUMMARY_TYPE = "profile:summary"


def section(key: str) -> Section:
    """The section named ``key`` (``KeyError`` for an unknown one: a programming error)."""
    return SECTIONS[key]


# --- Policy and audit --------------------------------------------------------


def _check(actor: Actor | None, action: Action, patient_id: uuid.UUID, object_type: str) -> Access:
    """The guard on one section; a refusal is traced (committed on its own) and raised.

    Called before any transaction of ours is open, so that rolling back the
    action can never roll back the trace of its refusal. The allowed access
    is traced by the caller, with the entry it touched, in its transaction.
    """
    return guard(actor, action, patient_id, section=object_type, trace=False)


def check_section(actor: Actor | None, patient: Person, action: Action, key: str) -> None:
    """Raise ``NotAllowed`` (traced) unless ``actor`` may do ``action`` on a section.

    For pages that show a blank form: a refused visitor must not see even that.
    """
    _check(actor, Action(action), patient.id, section(key).object_type)


def _validate(
    form_class: type[forms.ProfileForm],
    data: Mapping[str, Any],
    patient: Person,
    *args: MeasureType,
) -> dict[str, Any]:
    form = form_class(*args, data=data, patient=patient)
    if not form.is_valid():
        raise ProfileInvalid(form)
    return form.cleaned_data


def _assign(
    row: ProfileEntry, form_class: type[forms.ProfileForm], cleaned: Mapping[str, Any]
) -> None:
    for name in form_class.base_fields:
        setattr(row, name, cleaned.get(name))


def _scoped(model: type[_Entry], patient: Person) -> QuerySet[_Entry]:
    # Every query names one patient (rule 2: fast at any size, shardable).
    return model.objects.filter(patient_id=patient.id)


def _find(sec: Section, patient: Person, entry_id: uuid.UUID | str) -> ProfileEntry:
    try:
        return _scoped(sec.model, patient).get(pk=entry_id)
    except (sec.model.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotAllowed from None


# --- Sections made of a list of entries --------------------------------------


def list_section(actor: Actor | None, patient: Person, key: str) -> list[ProfileEntry]:
    """The entries of one section of ``patient``'s profile, in the section's order."""
    sec = section(key)
    access = _check(actor, Action.LIST, patient.id, sec.object_type)
    with transaction.atomic():
        rows = list(_scoped(sec.model, patient).order_by(*sec.order_by))
        access.trace()
    return rows


def get_entry(
    actor: Actor | None,
    patient: Person,
    key: str,
    entry_id: uuid.UUID | str,
    action: Action = Action.READ,
) -> ProfileEntry:
    """One entry if ``actor`` may do ``action`` on it; ``NotAllowed`` otherwise or if unknown.

    Only a read is traced here: the change that follows traces itself.
    """
    sec = section(key)
    access = _check(actor, action, patient.id, sec.object_type)
    row = _find(sec, patient, entry_id)
    if action == Action.READ:
        access.trace(row)
    return row


def add_entry(
    actor: Actor | None, patient: Person, key: str, data: Mapping[str, Any]
) -> ProfileEntry:
    """Validate ``data`` with the section's form and add it as a new, encrypted entry."""
    sec = section(key)
    if sec.singleton:
        raise ValueError(f"La rubrique {key} s'enregistre avec save_singleton().")
    access = _check(actor, Action.CREATE, patient.id, sec.object_type)
    cleaned = _validate(sec.form, data, patient)
    crypto.ensure_keys(patient)
    row = sec.model(patient=patient)
    _assign(row, sec.form, cleaned)
    if isinstance(row, Vaccination):
        pro = actor if actor is not None and actor.kind == ActorKind.PROFESSIONAL else None
        row.recorded_by = row.RecordedBy.PROFESSIONAL if pro is not None else row.RecordedBy.PATIENT
        row.author_professional_id = pro.professional_id if pro is not None else None
    with transaction.atomic():
        row.save()
        access.trace(row)
    return row


def update_entry(
    actor: Actor | None,
    patient: Person,
    key: str,
    entry_id: uuid.UUID | str,
    data: Mapping[str, Any],
) -> ProfileEntry:
    """Replace the content of one entry by ``data`` (validated like a new one)."""
    sec = section(key)
    access = _check(actor, Action.UPDATE, patient.id, sec.object_type)
    cleaned = _validate(sec.form, data, patient)
    with transaction.atomic():
        row = _find(sec, patient, entry_id)
        _assign(row, sec.form, cleaned)
        row.save()
        access.trace(row)
    return row


def delete_entry(actor: Actor | None, patient: Person, key: str, entry_id: uuid.UUID | str) -> None:
    """Delete one entry for good (a profile entry has no history to keep)."""
    sec = section(key)
    access = _check(actor, Action.DELETE, patient.id, sec.object_type)
    with transaction.atomic():
        row = _find(sec, patient, entry_id)
        access.trace(row)
        row.delete()


def entry_initial(row: ProfileEntry, key: str) -> dict[str, object]:
    """The values of an entry as its edit form expects them (already accessed)."""
    return {name: getattr(row, name) for name in section(key).form.base_fields}


# --- Sections with one row per patient: habits, blood group, wishes ----------


def get_singleton(actor: Actor | None, patient: Person, key: str) -> ProfileEntry | None:
    """The one row of a singleton section, or None if the patient has not filled it."""
    sec = section(key)
    access = _check(actor, Action.READ, patient.id, sec.object_type)
    with transaction.atomic():
        row = _scoped(sec.model, patient).first()
        access.trace(row)
    return row


def save_singleton(
    actor: Actor | None, patient: Person, key: str, data: Mapping[str, Any]
) -> ProfileEntry:
    """Create or replace the one row of a singleton section."""
    sec = section(key)
    exists = _scoped(sec.model, patient).exists()
    action = Action.UPDATE if exists else Action.CREATE
    access = _check(actor, action, patient.id, sec.object_type)
    cleaned = _validate(sec.form, data, patient)
    crypto.ensure_keys(patient)
    for attempt in range(2):
        try:
            with transaction.atomic():
                # Locked: two tabs saving at once must not both insert.
                row = _scoped(sec.model, patient).select_for_update().first()
                action = Action.UPDATE if row else Action.CREATE
                row = row or sec.model(patient=patient)
                _assign(row, sec.form, cleaned)
                row.save()
                access.trace(row, event=action)
            return row
        except IntegrityError:
            # The other request inserted first (nothing to lock before it
            # existed); the second attempt updates its row.
            if attempt:
                raise
    raise AssertionError("unreachable")


def clear_singleton(actor: Actor | None, patient: Person, key: str) -> None:
    """Erase the one row of a singleton section (nothing happens if there is none)."""
    sec = section(key)
    access = _check(actor, Action.DELETE, patient.id, sec.object_type)
    with transaction.atomic():
        row = _scoped(sec.model, patient).first()
        if row is not None:
            access.trace(row)
            row.delete()


def set_lifestyle(actor: Actor | None, patient: Person, data: Mapping[str, Any]) -> Lifestyle:
    """Save the patient's habits (food, activity, sleep, screens, alcohol, tobacco)."""
    # The "lifestyle" section's model is Lifestyle.
    return cast(Lifestyle, save_singleton(actor, patient, "lifestyle", data))


def set_blood_group(actor: Actor | None, patient: Person, group: str) -> BloodGroup:
    """Record the patient's blood group ("A+", "O-"...)."""
    # The "blood_group" section's model is BloodGroup.
    return cast(BloodGroup, save_singleton(actor, patient, "blood_group", {"group": group}))


def set_organ_donation(actor: Actor | None, patient: Person, position: str) -> Wishes:
    """Record the patient's position on organ donation (accepte, refuse, non_renseigne)."""
    # The "wishes" section's model is Wishes.
    return cast(Wishes, save_singleton(actor, patient, "wishes", {"organ_donation": position}))


# --- Measures ----------------------------------------------------------------


def measure_type(code: str) -> MeasureType:
    """The measure type of a LOINC code; ``ValueError`` in French for an unknown one."""
    try:
        return MEASURES[code]
    except KeyError:
        raise ValueError(f"Code de mesure inconnu : {code}.") from None


@dataclass
class MeasurePoint:
    """One measure, decrypted, with its values in the type's first unit (for charts)."""

    id: uuid.UUID
    measured_at: datetime
    value: Decimal
    second_value: Decimal | None
    unit: str
    author: str
    author_label: str
    measure: MeasureType

    @property
    def display(self) -> str:
        unit = self.measure.unit_for(self.unit) or self.measure.unit
        if self.second_value is not None:
            return (
                f"{french_number(self.value, unit.decimals)}/"
                f"{french_number(self.second_value, unit.decimals)} {unit.label}"
            )
        return f"{french_number(self.value, unit.decimals)} {unit.label}"

    @property
    def chart_value(self) -> Decimal:
        unit = self.measure.unit_for(self.unit) or self.measure.unit
        return self.value * unit.factor

    @property
    def chart_second_value(self) -> Decimal | None:
        if self.second_value is None:
            return None
        unit = self.measure.unit_for(self.unit) or self.measure.unit
        return self.second_value * unit.factor


def _point(row: Measure, measure: MeasureType) -> MeasurePoint:
    return MeasurePoint(
        id=row.id,
        measured_at=row.measured_at,
        value=Decimal(row.value),
        second_value=Decimal(row.second_value) if row.second_value else None,
        unit=row.unit,
        author=row.author,
        author_label=row.get_author_display(),
        measure=measure,
    )


def add_measure(
    actor: Actor | None,
    patient: Person,
    code: str,
    data: Mapping[str, Any],
    *,
    author: str = Measure.Author.PATIENT,
) -> Measure:
    """Validate and add one measure of type ``code`` (LOINC).

    ``data`` holds ``value`` (and ``second_value``, the diastolic, for blood
    pressure), ``unit`` when the type has several, ``date`` and ``time``.
    Values may use a French decimal comma; out-of-range values are refused
    with a sentence giving the range.
    """
    measure = measure_type(code)
    access = _check(actor, Action.CREATE, patient.id, MEASURES_TYPE)
    cleaned = _validate(forms.MeasureForm, data, patient, measure)
    crypto.ensure_keys(patient)
    row = Measure(patient=patient, code=measure.code, measured_at=cleaned["measured_at"])
    row.author = author
    row.value = cleaned["value"]
    row.second_value = cleaned.get("second_value")
    row.unit = cleaned["unit"]
    with transaction.atomic():
        row.save()
        access.trace(row)
    return row


def delete_measure(actor: Actor | None, patient: Person, measure_id: uuid.UUID | str) -> None:
    """Delete one measure of the patient."""
    access = _check(actor, Action.DELETE, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        try:
            row = _scoped(Measure, patient).get(pk=measure_id)
        except (Measure.DoesNotExist, ValidationError, ValueError):
            raise NotAllowed from None
        access.trace(row)
        row.delete()


def get_measure(actor: Actor | None, patient: Person, measure_id: uuid.UUID | str) -> MeasurePoint:
    """One measure of the patient, decrypted (to confirm its deletion)."""
    access = _check(actor, Action.READ, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        try:
            row = _scoped(Measure, patient).get(pk=measure_id)
        except (Measure.DoesNotExist, ValidationError, ValueError):
            raise NotAllowed from None
        access.trace(row)
    return _point(row, measure_type(row.code))


def measure_series(actor: Actor | None, patient: Person, code: str) -> list[MeasurePoint]:
    """Every measure of type ``code`` of the patient, newest first, decrypted."""
    measure = measure_type(code)
    access = _check(actor, Action.LIST, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        rows = list(_scoped(Measure, patient).filter(code=code).order_by("-measured_at"))
        access.trace()
    return [_point(row, measure) for row in rows]


@dataclass
class Target:
    value: Decimal
    second_value: Decimal | None
    measure: MeasureType

    @property
    def display(self) -> str:
        unit = self.measure.unit
        text = french_number(self.value, unit.decimals)
        if self.second_value is not None:
            text += f"/{french_number(self.second_value, unit.decimals)}"
        return f"{text} {unit.label}"


def get_measure_target(actor: Actor | None, patient: Person, code: str) -> Target | None:
    """The patient's goal for measures of type ``code``, if they set one."""
    measure = measure_type(code)
    access = _check(actor, Action.READ, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        row = _scoped(MeasureTarget, patient).filter(code=code).first()
        access.trace(row)
    if row is None:
        return None
    return Target(
        Decimal(row.value), Decimal(row.second_value) if row.second_value else None, measure
    )


def set_measure_target(
    actor: Actor | None, patient: Person, code: str, data: Mapping[str, Any]
) -> MeasureTarget:
    """Set (or replace) the patient's goal for measures of type ``code``."""
    measure = measure_type(code)
    access = _check(actor, Action.UPDATE, patient.id, MEASURES_TYPE)
    cleaned = _validate(forms.MeasureTargetForm, data, patient, measure)
    crypto.ensure_keys(patient)
    with transaction.atomic():
        row = _scoped(MeasureTarget, patient).select_for_update().filter(code=code).first()
        row = row or MeasureTarget(patient=patient, code=code)
        row.value = cleaned["value"]
        row.second_value = cleaned.get("second_value")
        row.save()
        access.trace(row)
    return row


def clear_measure_target(actor: Actor | None, patient: Person, code: str) -> None:
    """Remove the patient's goal for measures of type ``code``."""
    measure_type(code)
    access = _check(actor, Action.DELETE, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        row = _scoped(MeasureTarget, patient).filter(code=code).first()
        if row is not None:
            access.trace(row)
            row.delete()


# --- The whole profile: index page, printable summary ------------------------


@dataclass
class LatestMeasure:
    measure: MeasureType
    point: MeasurePoint | None
    count: int


@dataclass
class ProfileSummary:
    """Everything in the profile, decrypted, for the index page and the PDF."""

    patient: Person
    entries: dict[str, list[ProfileEntry]] = field(default_factory=dict)
    singletons: dict[str, ProfileEntry | None] = field(default_factory=dict)
    measures: list[LatestMeasure] = field(default_factory=list)
    # Documents of category DIR_ANT.
    directives: list["ListedDocument"] = field(default_factory=list)

    @property
    def current_treatments(self) -> list[Treatment]:
        # The "treatments" section's model is Treatment.
        rows = cast(list[Treatment], self.entries.get("treatments", []))
        return [row for row in rows if row.is_current]

    @property
    def past_treatments(self) -> list[Treatment]:
        rows = cast(list[Treatment], self.entries.get("treatments", []))
        return [row for row in rows if not row.is_current]

    @property
    def measured(self) -> list[LatestMeasure]:
        return [item for item in self.measures if item.point is not None]


def profile_summary(actor: Actor | None, patient: Person) -> ProfileSummary:
    """The whole profile of ``patient``: every section, latest measures, advance directives.

    One audit entry for the whole read (``profile:summary``); the advance
    directives come from the documents service, which traces its own listing.
    """
    from espace_sante.record.documents import services as documents

    access = _check(actor, Action.LIST, patient.id, SUMMARY_TYPE)
    summary = ProfileSummary(patient=patient)
    with transaction.atomic():
        for sec in _SECTIONS:
            rows = _scoped(sec.model, patient)
            if sec.singleton:
                summary.singletons[sec.key] = rows.first()
            else:
                summary.entries[sec.key] = list(rows.order_by(*sec.order_by))
        summary.measures = _latest(patient)
        access.trace()
    summary.directives = documents.list_documents(actor, patient.id, category="DIR_ANT")
    return summary


def _latest(patient: Person) -> list[LatestMeasure]:
    """For each measure type, in the reference order: its newest row and how many there are.

    Two queries whatever the number of measures (steps come every day): the
    counts and dates per code, then only the newest rows, decrypted.
    """
    stats = list(
        _scoped(Measure, patient)
        .values("code")
        .annotate(count=Count("id"), newest=Max("measured_at"))
        .order_by()
    )
    newest = Q(pk__in=[])
    for item in stats:
        newest |= Q(code=item["code"], measured_at=item["newest"])
    latest: dict[str, Measure] = {}
    for row in _scoped(Measure, patient).filter(newest).order_by("-created_at"):
        latest.setdefault(row.code, row)
    counts = {item["code"]: item["count"] for item in stats}
    return [
        LatestMeasure(
            m, _point(latest[m.code], m) if m.code in latest else None, counts.get(m.code, 0)
        )
        for m in MEASURE_TYPES
    ]


def latest_measures(actor: Actor | None, patient: Person) -> list[LatestMeasure]:
    """Every measure type with the patient's latest value of it (None when never measured)."""
    access = _check(actor, Action.LIST, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        latest = _latest(patient)
        access.trace()
    return latest


def _safe_url_fetcher() -> "URLFetcher":
    from weasyprint.urls import URLFetcher

    # The summary embeds nothing from outside: no URL is ever fetched, so a
    # text typed by the patient cannot make the server call anywhere.
    return URLFetcher(allowed_protocols=())


def summary_pdf(actor: Actor | None, patient: Person, *, today: date | None = None) -> bytes:
    """The printable summary of the whole profile, as PDF bytes (WeasyPrint)."""
    from weasyprint import HTML

    summary = profile_summary(actor, patient)
    today = today or timezone.localdate()
    with translation.override("fr"):
        html = render_to_string(
            "record/profile/summary_pdf.html",
            {"summary": summary, "patient": patient, "today": today},
        )
    pdf: bytes = HTML(string=html, url_fetcher=_safe_url_fetcher()).write_pdf()
    return pdf


def summary_title(day: date) -> str:
    with translation.override("fr"):
        return f"Synthèse de mon profil médical du {formats.date_format(day, 'j F Y')}"


def save_summary_to_documents(actor: Actor | None, patient: Person) -> "Document":
    """Store the printable summary in the patient's documents (type DOCPAT08)."""
    from espace_sante.record.documents.models import Document
    from espace_sante.record.documents.services import NewDocument, add_document

    today = timezone.localdate()
    content = summary_pdf(actor, patient, today=today)
    upload = io.BytesIO(content)
    upload.name = f"synthese-profil-medical-{today:%Y-%m-%d}.pdf"
    return add_document(
        actor,
        patient,
        upload,
        NewDocument(
            title=summary_title(today),
            type_code="DOCPAT08",
            source=Document.Source.PATIENT,
            document_date=today,
        ),
    )
