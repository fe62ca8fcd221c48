"""The sections of the profile: lists of entries, and the sections with one row per patient.

Thirteen tables share one path (list, read, add, change, delete), driven by
``Section``: its table, its form and its order. Input is validated by the
section's form whatever the door, so a French message is written once;
invalid input raises ``ProfileInvalid`` carrying the bound form.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from espace_sante.access.guard import Access, guard
from espace_sante.access.policy import Action, Actor, ActorKind, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person

from . import forms
from .encrypted import ProfileEntry
from .models import (
    Allergy,
    BloodGroup,
    Condition,
    Contact,
    Disability,
    FamilyHistory,
    Hospitalisation,
    Lifestyle,
    Screening,
    Treatment,
    Vaccination,
    Wishes,
)
from .reference import SECTION_INFO, MeasureType, SectionInfo

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
        SECTION_INFO["screenings"],
        Screening,
        forms.ScreeningForm,
        ("-done_on", "-created_at"),
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


def section(key: str) -> Section:
    """The section named ``key`` (``KeyError`` for an unknown one: a programming error)."""
    return SECTIONS[key]


def access_to(
    actor: Actor | None, action: Action, patient_id: uuid.UUID, object_type: str
) -> Access:
    """The guard on one section; a refusal is traced (committed on its own) and raised.

    Called before any transaction of ours is open, so that rolling back the
    action can never roll back the trace of its refusal. The allowed access
    is traced by the caller, with the entry it touched, in its transaction.
    """
    return guard(actor, action, patient_id, section=object_type, trace=False)


def _section_access(
    actor: Actor | None, action: Action, patient: Person, key: str
) -> tuple[Section, Access]:
    """The section named ``key`` and the guard's access to it (a refusal is raised)."""
    sec = section(key)
    return sec, access_to(actor, action, patient.id, sec.object_type)


def check_section(actor: Actor | None, patient: Person, action: Action, key: str) -> None:
    """Raise ``NotAllowed`` (traced) unless ``actor`` may do ``action`` on a section.

    For pages that show a blank form: a refused visitor must not see even that.
    """
    _section_access(actor, Action(action), patient, key)


def validated(
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


def scoped(model: type[_Entry], patient: Person) -> QuerySet[_Entry]:
    # Every query names one patient (rule 2: fast at any size, shardable).
    return model.objects.filter(patient_id=patient.id)


def _find(sec: Section, patient: Person, entry_id: uuid.UUID | str) -> ProfileEntry:
    try:
        return scoped(sec.model, patient).get(pk=entry_id)
    except (sec.model.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotAllowed from None


def list_section(actor: Actor | None, patient: Person, key: str) -> list[ProfileEntry]:
    """The entries of one section of ``patient``'s profile, in the section's order."""
    sec, access = _section_access(actor, Action.LIST, patient, key)
    with transaction.atomic():
        rows = list(scoped(sec.model, patient).order_by(*sec.order_by))
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
    sec, access = _section_access(actor, action, patient, key)
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
        raise ValueError(f"Section {key!r} is saved with save_singleton(), not add_entry().")
    access = access_to(actor, Action.CREATE, patient.id, sec.object_type)
    cleaned = validated(sec.form, data, patient)
    crypto.ensure_keys(patient)
    row = sec.model(patient=patient)
    _assign(row, sec.form, cleaned)
    if isinstance(row, Vaccination):
        pro = actor if actor is not None and actor.kind == ActorKind.PROFESSIONAL else None
        row.recorded_by = row.RecordedBy.PROFESSIONAL if pro is not None else row.RecordedBy.PATIENT
        row.author_professional_id = pro.professional_id if pro is not None else None
    if isinstance(row, Screening):
        professional = actor is not None and actor.kind == ActorKind.PROFESSIONAL
        row.recorded_by = row.RecordedBy.PROFESSIONAL if professional else row.RecordedBy.PATIENT
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
    sec, access = _section_access(actor, Action.UPDATE, patient, key)
    cleaned = validated(sec.form, data, patient)
    with transaction.atomic():
        row = _find(sec, patient, entry_id)
        _assign(row, sec.form, cleaned)
        row.save()
        access.trace(row)
    return row


def delete_entry(actor: Actor | None, patient: Person, key: str, entry_id: uuid.UUID | str) -> None:
    """Delete one entry for good (a profile entry has no history to keep)."""
    sec, access = _section_access(actor, Action.DELETE, patient, key)
    with transaction.atomic():
        found = _find(sec, patient, entry_id)
        # Locked: of parallel deletions (a double click), one deletes and is traced.
        row = scoped(sec.model, patient).select_for_update().filter(pk=found.pk).first()
        if row is None:
            return  # deleted meanwhile by the same request sent twice
        access.trace(row)
        row.delete()


def entry_initial(row: ProfileEntry, key: str) -> dict[str, object]:
    """The values of an entry as its edit form expects them (already accessed)."""
    return {name: getattr(row, name) for name in section(key).form.base_fields}


def get_singleton(actor: Actor | None, patient: Person, key: str) -> ProfileEntry | None:
    """The one row of a singleton section, or None if the patient has not filled it."""
    sec, access = _section_access(actor, Action.READ, patient, key)
    with transaction.atomic():
        row = scoped(sec.model, patient).first()
        access.trace(row)
    return row


def save_singleton(
    actor: Actor | None, patient: Person, key: str, data: Mapping[str, Any]
) -> ProfileEntry:
    """Create or replace the one row of a singleton section."""
    sec = section(key)
    exists = scoped(sec.model, patient).exists()
    action = Action.UPDATE if exists else Action.CREATE
    access = access_to(actor, action, patient.id, sec.object_type)
    cleaned = validated(sec.form, data, patient)
    crypto.ensure_keys(patient)
    for attempt in range(2):
        try:
            with transaction.atomic():
                # Locked: two tabs saving at once must not both insert.
                row = scoped(sec.model, patient).select_for_update().first()
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
    sec, access = _section_access(actor, Action.DELETE, patient, key)
    with transaction.atomic():
        # Locked: of parallel erasures, one erases and is traced.
        row = scoped(sec.model, patient).select_for_update().first()
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
