"""The agenda's services: a person's prevention reminders from what their record holds.

The forecast itself is pure (``prevention.py``); this layer reads the facts
through the profile's services, so the access guard decides and the audit trail
records the read (the profile's ``vaccinations`` section, listed once).

What the record holds today: the birth date and sex of the ``Person`` and the
vaccinations of the profile. A vaccination counts when its name is one the profile
suggests (``prevention_codes.csv``, column ``profile_names``); a name typed freely
cannot be told apart and is returned in ``unrecognised`` rather than guessed.
Screenings, check-ups, a declared pregnancy and the person's choices (not
concerned, dismissed, prevention off) have no table yet: the later slices of
issue 13 add them and pass them here.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

from espace_sante.access.policy import Actor
from espace_sante.identity.models import Person
from espace_sante.record.profile import services as profile
from espace_sante.record.profile.encrypted import ProfileEntry
from espace_sante.record.profile.models import Vaccination

from .prevention import Facts, Record, Reminder, default_rules, forecast, known_codes


class NotRecordable(ValidationError):
    """A reminder the profile cannot record as done (yet); the message says why, in French."""


@dataclass(frozen=True)
class Forecast:
    reminders: list[Reminder]
    # Vaccinations whose name the forecast cannot tie to a vaccine of the calendar.
    unrecognised: list[str] = field(default_factory=list)


def _names_to_codes() -> dict[str, str]:
    # A vaccine is recognised by its label (what mark_done writes) or a name the profile suggests.
    return {
        _normalised(name): code
        for code, (kind, label, names) in known_codes().items()
        if kind == "vaccine"
        for name in (label, *names)
    }


def _normalised(name: str) -> str:
    return " ".join(name.casefold().split())


def vaccination_records(
    entries: Iterable[tuple[str, date]], names: Mapping[str, str] | None = None
) -> tuple[tuple[Record, ...], list[str]]:
    """(records of the calendar, names not recognised) from (vaccine name, date) pairs."""
    names = _names_to_codes() if names is None else names
    records, unknown = [], []
    for name, on in entries:
        code = names.get(_normalised(name))
        if code is None:
            unknown.append(name)
        else:
            records.append(Record(code, on))
    return tuple(records), unknown


def prevention_forecast(
    actor: Actor | None, patient: Person, today: date | None = None
) -> Forecast:
    """``patient``'s reminders on ``today`` (Paris date by default), as ``actor`` may read them.

    The vaccinations are read through the profile's guarded services: a refusal
    raises ``NotAllowed`` (traced), an allowed read is in the patient's history.
    """
    rows = profile.list_section(actor, patient, "vaccinations")
    records, unknown = vaccination_records(
        (row.vaccine, row.vaccinated_on) for row in rows if isinstance(row, Vaccination)
    )
    facts = Facts(birth_date=patient.birth_date, sex=patient.sex, vaccinations=records)
    return Forecast(forecast(facts, today or timezone.localdate()), unknown)


def mark_done(
    actor: Actor | None, patient: Person, rule_id: str, on: date, code: str | None = None
) -> ProfileEntry:
    """Record in ``patient``'s profile that the vaccination of a reminder was given ``on``.

    The vaccine is ``code`` (one of the rule's codes) or the rule's first one; it is
    written under its label, which the forecast recognises. Exams (screenings,
    check-ups) have no section of the profile yet: ``NotRecordable``.
    """
    rule = default_rules().by_id.get(rule_id)
    if rule is None:
        raise NotRecordable("Ce rappel n'existe pas.")
    vaccines = {
        found: label
        for found, (kind, label, _names) in known_codes().items()
        if kind == "vaccine" and found in rule.codes
    }
    chosen = code or next((one for one in rule.codes if one in vaccines), None)
    if chosen is None:
        raise NotRecordable(
            "Votre profil ne permet pas encore de noter cet examen : "
            "gardez son compte rendu dans vos documents."
        )
    if chosen not in vaccines:
        raise NotRecordable("Ce vaccin ne correspond pas à ce rappel.")
    return profile.add_entry(
        actor,
        patient,
        "vaccinations",
        {"vaccine": vaccines[chosen], "vaccinated_on": on.isoformat()},
    )
