"""The agenda's services: appointments, and a person's prevention reminders.

Every function takes the acting ``Actor`` and the patient, goes through
``access.guard`` (section ``agenda:appointment`` for appointments, decided by
``policy.decide_agenda``; ``agenda:prevention`` for the person's choices, which
only the person's side makes) and traces in the same transaction as the change.
The web pages, the portal and the FHIR ``Appointment`` door call these names.

The forecast itself is pure (``prevention.py``); this layer builds the facts
from the record through the profile's guarded services (vaccinations and
prevention exams), the declared pregnancy and the person's choices. A vaccination
counts when its name is one the profile suggests (``prevention_codes.csv``,
column ``profile_names``); a name typed freely cannot be told apart and is
returned in ``unrecognised`` rather than guessed.
"""

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from espace_sante.access import guard
from espace_sante.access.policy import AGENDA, Action, Actor, ActorKind, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import OPEN_SPACE_STATES, Person, Professional
from espace_sante.record.profile import services as profile
from espace_sante.record.profile.encrypted import ProfileEntry
from espace_sante.record.profile.models import Screening, Vaccination
from espace_sante.record.text import hidden_characters

from .models import Appointment, PreventionChoice, PreventionProfile, ReminderSchedule
from .prevention import (
    Facts,
    Record,
    Reminder,
    add_months,
    default_rules,
    forecast,
    known_codes,
)

PREVENTION = "agenda:prevention"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


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


def _vaccination_facts(
    actor: Actor | None, patient: Person
) -> tuple[tuple[Record, ...], list[str]]:
    rows = profile.list_section(actor, patient, "vaccinations")
    return vaccination_records(
        (row.vaccine, row.vaccinated_on) for row in rows if isinstance(row, Vaccination)
    )


def _exam_facts(actor: Actor | None, patient: Person) -> tuple[Record, ...]:
    rows = profile.list_section(actor, patient, "screenings")
    return tuple(Record(row.exam, row.done_on) for row in rows if isinstance(row, Screening))


def _choices(patient: Person) -> tuple[frozenset[str], dict[str, date]]:
    not_concerned: set[str] = set()
    dismissed: dict[str, date] = {}
    for rule_id, choice, made_on in PreventionChoice.objects.filter(
        patient_id=patient.id
    ).values_list("rule_id", "choice", "made_on"):
        if choice == PreventionChoice.Choice.NOT_CONCERNED:
            not_concerned.add(rule_id)
        else:
            dismissed[rule_id] = made_on
    return frozenset(not_concerned), dismissed


def settings_of(patient: Person) -> PreventionProfile | None:
    """The person's prevention settings row (None: never set, prevention on)."""
    return PreventionProfile.objects.filter(patient_id=patient.id).first()


def prevention_enabled(patient: Person) -> bool:
    """Personalised prevention is on unless the person turned it off."""
    row = settings_of(patient)
    return row is None or row.enabled


def prevention_forecast(
    actor: Actor | None, patient: Person, today: date | None = None
) -> Forecast:
    """``patient``'s reminders on ``today`` (Paris date by default), as ``actor`` may read them.

    The vaccinations and exams are read through the profile's guarded services:
    a refusal raises ``NotAllowed`` (traced), an allowed read is in the history.
    """
    guard.guard(actor, Action.LIST, patient.id, section=PREVENTION, trace=False)
    records, unknown = _vaccination_facts(actor, patient)
    exams = _exam_facts(actor, patient)
    chosen = settings_of(patient)
    not_concerned, dismissed = _choices(patient)
    facts = Facts(
        birth_date=patient.birth_date,
        sex=patient.sex,
        vaccinations=records,
        exams=exams,
        pregnancy_start=chosen.pregnancy_start_date if chosen else None,
        delivery_date=chosen.delivery_on if chosen else None,
        not_concerned=not_concerned,
        dismissed=dismissed,
        prevention_off=bool(chosen and not chosen.enabled),
    )
    return Forecast(forecast(facts, today or timezone.localdate()), unknown)


def _rule(rule_id: str) -> Any:
    rule = default_rules().by_id.get(rule_id)
    if rule is None:
        raise NotRecordable("Ce rappel n'existe pas.")
    return rule


def mark_done(
    actor: Actor | None, patient: Person, rule_id: str, on: date, code: str | None = None
) -> ProfileEntry:
    """Record in ``patient``'s profile that the act of a reminder was done ``on``.

    A vaccine goes to the vaccinations (under its label, which the forecast
    recognises), an exam to the prevention exams; ``code`` chooses among the
    rule's codes (the first one by default). Validated like any profile entry
    (a date in the future is refused with the profile's French message).
    """
    rule = _rule(rule_id)
    codes = known_codes()
    chosen = code or rule.codes[0]
    if chosen not in rule.codes or chosen not in codes:
        raise NotRecordable("Cet acte ne correspond pas à ce rappel.")
    kind, label, _names = codes[chosen]
    if kind == "vaccine":
        entry = profile.add_entry(
            actor,
            patient,
            "vaccinations",
            {"vaccine": label, "vaccinated_on": on.isoformat()},
        )
    else:
        entry = profile.add_entry(
            actor, patient, "screenings", {"exam": chosen, "done_on": on.isoformat()}
        )
    _schedule_check(patient, timezone.localdate())
    return entry


def set_choice(actor: Actor | None, patient: Person, rule_id: str, choice: str | None) -> None:
    """Not concerned by a reminder, dismiss it until its next time, or undo (``None``)."""
    _rule(rule_id)
    if choice is not None and choice not in PreventionChoice.Choice.values:
        raise NotRecordable("Ce choix n'existe pas.")
    access = guard.guard(actor, Action.UPDATE, patient.id, section=PREVENTION, trace=False)
    with transaction.atomic():
        PreventionChoice.objects.filter(patient_id=patient.id, rule_id=rule_id).delete()
        if choice is not None:
            PreventionChoice.objects.create(
                patient=patient,
                rule_id=rule_id,
                choice=choice,
                made_on=timezone.localdate(),
                made_by_id=actor.user_id if actor is not None else None,
            )
        _schedule_check(patient, timezone.localdate())
        access.trace(reason=f"{rule_id}: {choice or 'annulé'}")


def _settings_for_update(patient: Person) -> PreventionProfile:
    """The settings row, locked (created on first use; parallel first uses make one)."""
    crypto.ensure_keys(patient)
    try:
        with transaction.atomic():
            PreventionProfile.objects.get_or_create(patient=patient)
    except IntegrityError:
        pass  # the other request created it
    return PreventionProfile.objects.select_for_update().get(patient_id=patient.id)


def set_prevention_enabled(actor: Actor | None, patient: Person, enabled: bool) -> None:
    """Turn personalised prevention on or off (off: no reminder is shown nor sent)."""
    access = guard.guard(actor, Action.UPDATE, patient.id, section=PREVENTION, trace=False)
    with transaction.atomic():
        row = _settings_for_update(patient)
        row.enabled = enabled
        row.save()
        _schedule_check(patient, timezone.localdate() if enabled else None)
        access.trace(row, reason="activée" if enabled else "désactivée")


def declare_pregnancy(
    actor: Actor | None, patient: Person, start: date | None, delivery: date | None = None
) -> None:
    """Declare (or end, with ``None``) a pregnancy: its start, and the birth once it happened."""
    today = timezone.localdate()
    if start is not None and not (today - timedelta(weeks=45) <= start <= today):
        raise NotRecordable(
            "Le début de grossesse doit être dans les 45 dernières semaines, et pas dans le futur."
        )
    if delivery is not None and (start is None or not (start <= delivery <= today)):
        raise NotRecordable(
            "La date de l'accouchement doit suivre le début de grossesse "
            "et ne peut pas être dans le futur."
        )
    access = guard.guard(actor, Action.UPDATE, patient.id, section=PREVENTION, trace=False)
    with transaction.atomic():
        row = _settings_for_update(patient)
        row.pregnancy_start = start.isoformat() if start else ""
        row.delivery_date = delivery.isoformat() if delivery else ""
        row.save()
        _schedule_check(patient, today)
        access.trace(row)


def _schedule_check(patient: Person, on: date | None) -> None:
    """Ask the daily job to look at this person's reminders again ``on`` (facts changed)."""
    ReminderSchedule.objects.update_or_create(patient=patient, defaults={"next_check_on": on})


def next_check(reminders: Iterable[Reminder], today: date) -> date:
    """The first day a reminder may fall due: the daily job forecasts again then.

    A rule whose window opens beyond the horizon is not in ``reminders``: the
    person is looked at again at least every month so it is never missed.
    """
    later = [one.due for one in reminders if one.due > today]
    monthly = add_months(today, 1)
    return min([*later, monthly])


# --- Appointments ------------------------------------------------------------


class AppointmentInvalid(ValidationError):
    """An appointment refused; ``messages`` maps each field to its French sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(self.errors)


REASON_MAX = 200
TEXT_MAX = 200
DURATION_MIN = 5
DURATION_MAX = 12 * 60
# An agenda plans, it is not an archive: further than this is a typing mistake.
YEARS_AHEAD = 5
YEARS_BACK = 2


def _clean_text(value: object, limit: int, label: str, errors: dict[str, str], name: str) -> str:
    text = "" if value is None else str(value).strip()
    hidden = hidden_characters(text, label)
    if hidden:
        errors[name] = hidden
    elif len(text) > limit:
        errors[name] = f"{label} ne doit pas dépasser {limit} caractères ({len(text)} saisis)."
    return text


def validate_appointment(data: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Check what a door sent; every problem named in French, nothing silently changed.

    ``starts_at``: an aware datetime; ``time_zone``: an IANA name (Europe/Paris
    by default); ``duration_minutes``; ``reason``, ``place``, ``with_whom``: text.
    """
    errors: dict[str, str] = {}
    now = now or timezone.now()
    zone_name = str(data.get("time_zone") or "Europe/Paris")
    try:
        zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name longer than a file name may be (the zone is looked up as a file).
        errors["time_zone"] = f"Le fuseau horaire « {zone_name[:40]} » n'existe pas."
    starts_at = data.get("starts_at")
    if not isinstance(starts_at, datetime):
        errors["starts_at"] = "Indiquez la date et l'heure du rendez-vous."
    elif timezone.is_naive(starts_at):
        errors["starts_at"] = "L'heure du rendez-vous doit préciser son fuseau horaire."
    elif not (
        now - timedelta(days=365 * YEARS_BACK)
        <= starts_at
        <= now + timedelta(days=365 * YEARS_AHEAD)
    ):
        errors["starts_at"] = (
            f"La date du rendez-vous doit être comprise entre il y a {YEARS_BACK} ans "
            f"et dans {YEARS_AHEAD} ans."
        )
    duration = data.get("duration_minutes", 30)
    if isinstance(duration, bool) or not isinstance(duration, int):
        errors["duration_minutes"] = "Indiquez la durée en minutes, par exemple 30."
    elif not DURATION_MIN <= duration <= DURATION_MAX:
        errors["duration_minutes"] = (
            f"La durée doit être comprise entre {DURATION_MIN} minutes "
            f"et {DURATION_MAX // 60} heures."
        )
    cleaned = {
        "starts_at": starts_at,
        "time_zone": zone_name,
        "duration_minutes": duration,
        "reason": _clean_text(data.get("reason"), REASON_MAX, "Le motif", errors, "reason"),
        "place": _clean_text(data.get("place"), TEXT_MAX, "Le lieu", errors, "place"),
        "with_whom": _clean_text(
            data.get("with_whom"),
            TEXT_MAX,
            "Le professionnel ou l'établissement",
            errors,
            "with_whom",
        ),
    }
    if errors:
        raise AppointmentInvalid(errors)
    return cleaned


def _author(actor: Actor | None, row: Appointment, author_name: str) -> None:
    if actor is None:
        raise NotAllowed
    if actor.kind == ActorKind.PROFESSIONAL:
        row.source = Appointment.Source.PROFESSIONAL
        row.author_professional_id = actor.professional_id
        row.author_organization_id = actor.organization_id
        pro = Professional.objects.filter(pk=str(actor.professional_id)).first()
        row.author_name = pro.display_name if pro is not None else ""
    elif actor.kind == ActorKind.APP:
        row.source = Appointment.Source.APP
        row.author_app = actor.acting_for
        row.author_name = author_name[:200]
    else:
        row.source = Appointment.Source.PATIENT
        row.author_user_id = actor.user_id
        row.author_name = author_name[:200]


def add_appointment(
    actor: Actor | None, patient: Person, data: Mapping[str, Any], *, author_name: str = ""
) -> Appointment:
    """Add an appointment to ``patient``'s agenda (the person's side, a professional, an app).

    ``author_name`` is how a connected app or the person's side is named to
    the patient (a professional is named from the directory).
    """
    access = guard.guard(actor, Action.CREATE, patient.id, section=AGENDA, trace=False)
    cleaned = validate_appointment(data)
    crypto.ensure_keys(patient)
    row = Appointment(patient=patient)
    for name, value in cleaned.items():
        setattr(row, name, value)
    _author(actor, row, author_name)
    with transaction.atomic():
        row.save()
        access.trace(row)
    return row


def _scoped(patient: Person) -> QuerySet[Appointment]:
    return Appointment.objects.filter(patient_id=patient.id)


def _visible_to(actor: Actor | None, rows: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """A professional lists only what they or their organisation added."""
    if actor is not None and actor.kind == ActorKind.PROFESSIONAL:
        mine = Q(author_professional_id=actor.professional_id)
        if actor.organization_id:
            mine |= Q(author_organization_id=actor.organization_id)
        return rows.filter(mine)
    return rows


def list_appointments(
    actor: Actor | None,
    patient: Person,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: Iterable[str] | None = None,
) -> list[Appointment]:
    """``patient``'s appointments between ``start`` (included) and ``end`` (excluded)."""
    access = guard.guard(actor, Action.LIST, patient.id, section=AGENDA, trace=False)
    rows = _visible_to(actor, _scoped(patient))
    if start is not None:
        rows = rows.filter(starts_at__gte=start)
    if end is not None:
        rows = rows.filter(starts_at__lt=end)
    if statuses is not None:
        rows = rows.filter(status__in=list(statuses))
    with transaction.atomic():
        found = list(rows.order_by("starts_at", "created_at"))
        access.trace()
    return found


def _find(patient: Person, appointment_id: object) -> Appointment:
    try:
        return _scoped(patient).get(pk=str(appointment_id))
    except (Appointment.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotAllowed from None


def patient_of_appointment(appointment_id: object) -> Person | None:
    """The person whose agenda holds this appointment (None if unknown), nothing read.

    For a door that is given only an appointment's id (FHIR ``Appointment/{id}``):
    it then asks ``get_appointment`` with that patient, which decides and traces.
    """
    try:
        patient_id = (
            Appointment.objects.filter(pk=str(appointment_id))
            .values_list("patient_id", flat=True)
            .first()
        )
    except (ValidationError, ValueError, TypeError):
        return None
    return Person.objects.filter(pk=patient_id).first() if patient_id else None


def get_appointment(actor: Actor | None, patient: Person, appointment_id: object) -> Appointment:
    """One appointment, if ``actor`` may read it (``NotAllowed`` otherwise or if unknown)."""
    row = _find(patient, appointment_id)
    guard.guard(actor, Action.READ, patient.id, row, section=AGENDA)
    return row


class StaleVersion(Exception):
    """The appointment changed since the version the sender saw (FHIR If-Match)."""


def _change(
    actor: Actor | None,
    patient: Person,
    appointment_id: object,
    expected_version: int | None,
    apply: Any,
) -> Appointment:
    found = _find(patient, appointment_id)
    access = guard.guard(actor, Action.UPDATE, patient.id, found, section=AGENDA, trace=False)
    with transaction.atomic():
        row = _scoped(patient).select_for_update().get(pk=found.pk)
        if expected_version is not None and row.version != expected_version:
            raise StaleVersion
        if apply(row):
            row.version += 1
            row.save()
            access.trace(row)
    return row


def update_appointment(
    actor: Actor | None,
    patient: Person,
    appointment_id: object,
    data: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Appointment:
    """Change an appointment's date, duration, place, person seen or reason."""
    cleaned = validate_appointment(data)

    def apply(row: Appointment) -> bool:
        if row.status == Appointment.Status.CANCELLED:
            raise AppointmentInvalid(
                {"status": "Ce rendez-vous est annulé : ajoutez-en un nouveau."}
            )
        if actor is not None and actor.kind == ActorKind.PATIENT and not editable_by_person(row):
            # What a professional or an app booked is theirs to change; the person cancels it.
            raise AppointmentInvalid(
                {
                    "status": f"Ce rendez-vous a été {added_by(row)} : vous pouvez l'annuler, "
                    "pas le modifier."
                }
            )
        for name, value in cleaned.items():
            setattr(row, name, value)
        row.reminded_on = None  # a new date gets its own reminder
        return True

    return _change(actor, patient, appointment_id, expected_version, apply)


def set_appointment_status(
    actor: Actor | None,
    patient: Person,
    appointment_id: object,
    status: str,
    *,
    expected_version: int | None = None,
) -> Appointment:
    """Cancel an appointment, or mark it done; a cancelled one cannot come back."""
    if status not in Appointment.Status.values:
        raise AppointmentInvalid({"status": f"Le statut « {status[:40]} » n'existe pas."})

    def apply(row: Appointment) -> bool:
        if row.status == status:
            return False  # the same cancel twice: nothing more happens
        if row.status == Appointment.Status.CANCELLED:
            raise AppointmentInvalid(
                {"status": "Ce rendez-vous est annulé : ajoutez-en un nouveau."}
            )
        row.status = status
        return True

    return _change(actor, patient, appointment_id, expected_version, apply)


def cancel_appointment(actor: Actor | None, patient: Person, appointment_id: object) -> Appointment:
    return set_appointment_status(actor, patient, appointment_id, Appointment.Status.CANCELLED)


def local_start(row: Appointment) -> datetime:
    """When the appointment starts, in the zone it was given in."""
    return row.starts_at.astimezone(zoneinfo.ZoneInfo(row.time_zone))


def added_by(row: Appointment, viewer: Actor | None = None) -> str:
    """Who added it, as the patient reads it: « ajouté par vous », « ajouté par Dr Martin »."""
    if row.source == Appointment.Source.PATIENT:
        if (
            viewer is not None
            and viewer.user_id is not None
            and viewer.user_id == row.author_user_id
        ):
            return "ajouté par vous"
        return f"ajouté par {row.author_name}" if row.author_name else "ajouté depuis votre espace"
    if row.source == Appointment.Source.APP:
        return f"ajouté par l'application {row.author_name or row.author_app}"
    return f"ajouté par {row.author_name}" if row.author_name else "ajouté par un professionnel"


# --- The agenda's pages and calendar feed (web) --------------------------------
#
# Added for the Agenda pages and the iCalendar feed. The feed is read without a
# session: the secret in its address stands for the person, and each reading is
# traced in their history as their calendar application's (``CALENDAR_APP``).

import hashlib  # noqa: E402
import hmac  # noqa: E402
import secrets  # noqa: E402

from espace_sante.access.history import CALENDAR_APP  # noqa: E402

from .models import CalendarFeed  # noqa: E402
from .prevention import DONE  # noqa: E402

# Who reads a feed: the service on the person's behalf, named in their history.
FEED_READER = Actor(ActorKind.SYSTEM, acting_for=CALENDAR_APP)
NEUTRAL_APPOINTMENT = "Rendez-vous médical"
NEUTRAL_REMINDER = "Rappel de prévention"


def editable_by_person(row: Appointment) -> bool:
    """The person edits what their side added; a professional's or an app's they may only cancel."""
    return row.source == Appointment.Source.PATIENT and row.status != Appointment.Status.CANCELLED


def _person_side(actor: Actor | None, patient: Person, action: Action) -> guard.Access:
    """A calendar link is the person's own (or their representative's): no one else's."""
    access = guard.guard(actor, action, patient.id, section=AGENDA, trace=False)
    if actor is None or actor.kind != ActorKind.PATIENT:
        raise guard.refuse(actor, action, patient.id, object_type="agenda:feed")
    return access


def active_feed(actor: Actor | None, patient: Person) -> CalendarFeed | None:
    """The person's calendar link in use, if any (never its secret: only its hash is kept)."""
    _person_side(actor, patient, Action.LIST)
    return (
        CalendarFeed.objects.filter(patient_id=patient.id, revoked_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(
    actor: Actor | None, patient: Person, *, show_details: bool = False
) -> tuple[CalendarFeed, str]:
    """A new secret calendar link (the previous one stops working); the token is returned once."""
    access = _person_side(actor, patient, Action.CREATE)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        CalendarFeed.objects.filter(patient_id=patient.id, revoked_at__isnull=True).update(
            revoked_at=now
        )
        feed = CalendarFeed.objects.create(
            patient=patient, token_hash=_hash(token), show_details=show_details
        )
        access.trace(feed, object_type="agenda:feed", reason="lien créé")
    return feed, token


def revoke_feed(actor: Actor | None, patient: Person) -> int:
    """Stop every calendar link of the person; the number stopped."""
    access = _person_side(actor, patient, Action.UPDATE)
    with transaction.atomic():
        count = CalendarFeed.objects.filter(patient_id=patient.id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if count:
            access.trace(object_type="agenda:feed", reason="lien révoqué")
    return count


def set_feed_details(actor: Actor | None, patient: Person, show_details: bool) -> None:
    """Show the reason, place and reminder labels in the calendar app (off: neutral titles)."""
    access = _person_side(actor, patient, Action.UPDATE)
    with transaction.atomic():
        count = CalendarFeed.objects.filter(patient_id=patient.id, revoked_at__isnull=True).update(
            show_details=show_details
        )
        if count:
            access.trace(
                object_type="agenda:feed",
                reason="détails affichés" if show_details else "titres neutres",
            )


def open_feed(feed_id: object, token: str) -> CalendarFeed:
    """The feed an address names, if its secret matches and it is not revoked; else NotAllowed."""
    try:
        # A closed or suspended space serves nothing, whatever links were handed out.
        feed = CalendarFeed.objects.select_related("patient").get(
            pk=str(feed_id), revoked_at__isnull=True, patient__space_state__in=OPEN_SPACE_STATES
        )
    except (CalendarFeed.DoesNotExist, ValidationError, ValueError):
        raise NotAllowed from None
    if not hmac.compare_digest(feed.token_hash, _hash(token)):
        raise NotAllowed
    return feed


def _appointment_event(row: Appointment, details: bool) -> Any:
    from icalendar import Event

    event = Event()
    event.add("uid", f"rdv-{row.id}@espace-sante")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", row.starts_at.astimezone(zoneinfo.ZoneInfo("UTC")))
    event.add("duration", timedelta(minutes=row.duration_minutes))
    event.add("sequence", row.version)
    event.add("status", "CANCELLED" if row.status == Appointment.Status.CANCELLED else "CONFIRMED")
    summary = NEUTRAL_APPOINTMENT
    if details:
        if row.reason:
            summary = f"{NEUTRAL_APPOINTMENT} : {row.reason}"
        if row.place:
            event.add("location", row.place)
        if row.with_whom:
            event.add("description", f"Avec {row.with_whom}")
    event.add("summary", summary)
    return event


def _reminder_event(reminder: Reminder, feed_id: object, today: date, details: bool) -> Any:
    from icalendar import Event

    event = Event()
    event.add("uid", f"rappel-{reminder.rule_id}-{feed_id}@espace-sante")
    event.add("dtstamp", timezone.now())
    # A reminder already due is shown today, where a calendar app shows it.
    day = max(reminder.due, today)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("summary", f"{NEUTRAL_REMINDER} : {reminder.label}" if details else NEUTRAL_REMINDER)
    if details:
        event.add("description", reminder.reason)
    return event


def calendar_bytes(
    appointments: Iterable[Appointment],
    reminders: Iterable[Reminder] = (),
    *,
    details: bool,
    feed_id: object = "",
    today: date | None = None,
) -> bytes:
    """An RFC 5545 calendar of appointments and due reminders."""
    from icalendar import Calendar

    today = today or timezone.localdate()
    cal = Calendar()
    cal.add("prodid", "-//espace-santé//agenda//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Agenda santé")
    for row in appointments:
        cal.add_component(_appointment_event(row, details))
    for reminder in reminders:
        cal.add_component(_reminder_event(reminder, feed_id, today, details))
    data: bytes = cal.to_ical()
    return data


def feed_calendar(feed_id: object, token: str, today: date | None = None) -> bytes:
    """What a calendar app reads at the secret address (``NotAllowed``: answer 404).

    Read through the guarded services as the person's calendar application, so
    each reading is in their history.
    """
    feed = open_feed(feed_id, token)
    patient = feed.patient
    today = today or timezone.localdate()
    since = timezone.now() - timedelta(days=90)
    appointments = list_appointments(FEED_READER, patient, start=since)
    reminders = [
        one
        for one in prevention_forecast(FEED_READER, patient, today).reminders
        if one.status != DONE
    ]
    return calendar_bytes(
        appointments, reminders, details=feed.show_details, feed_id=feed.id, today=today
    )


def appointment_calendar(actor: Actor | None, patient: Person, appointment_id: object) -> bytes:
    """One appointment as an ``.ics`` file, with its details (downloaded by the person)."""
    row = get_appointment(actor, patient, appointment_id)
    return calendar_bytes([row], details=True)


@dataclass(frozen=True)
class ChoiceMade:
    rule_id: str
    label: str
    choice: str  # PreventionChoice.Choice value
    made_on: date


def prevention_settings(
    actor: Actor | None, patient: Person
) -> tuple[PreventionProfile | None, list[ChoiceMade]]:
    """The person's prevention settings and the reminders they set aside, as ``actor`` may read."""
    guard.guard(actor, Action.LIST, patient.id, section=PREVENTION, trace=False)
    rules = default_rules().by_id
    choices = [
        ChoiceMade(rule_id, rules[rule_id].label if rule_id in rules else rule_id, choice, made_on)
        for rule_id, choice, made_on in PreventionChoice.objects.filter(patient_id=patient.id)
        .order_by("made_on", "rule_id")
        .values_list("rule_id", "choice", "made_on")
    ]
    return settings_of(patient), choices
