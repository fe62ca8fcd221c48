"""The agenda through FHIR: ``Appointment`` (issue 13), a translation of ``agenda.services``.

Professional software (token + ``X-Acting-Professional``, as for
DocumentReference) books, reads, searches, changes and cancels appointments in
a patient's agenda; a patient's connected app (a citizen token whose granted
scopes cover ``patient/Appointment``) does the same on its citizen's record.
Who may do what is ``policy.decide_agenda``'s; validation (dates, duration,
lengths, control characters) is ``agenda.services.validate_appointment``'s.
This module only reads the resource, refuses what it cannot keep truthfully
(an element we do not store, an offset that is not the zone's…) and maps back.

Time: ``start`` and ``end`` are instants with an offset. The zone the patient
sees the appointment in is the resource extension ``TIMEZONE_URL`` (an IANA
name), else Europe/Paris; the offset of ``start`` must be that zone's at that
instant (or ``Z``, an instant in universal time that declares no local zone),
so a time meant in Réunion is never shown as Paris time. Answers give
``start``/``end`` in the appointment's zone: the same instants.
"""

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import jsonpatch
import jsonpointer
from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from espace_sante.access.policy import NotAllowed
from espace_sante.agenda import services as agenda
from espace_sante.identity.models import Person, Professional
from espace_sante.identity.reference import RPPS_SYSTEM

from . import auth, mapping, patients, search
from .auth import ACTING_HEADER, caller
from .documents import parse
from .http import (
    FhirError,
    fhir_response,
    method_not_allowed,
    outcome,
    read_json,
)
from .patches import read_operations
from .views import _links, _open_patient, _patient_param, _prefer, base_url, endpoint

TIMEZONE_URL = "http://hl7.org/fhir/StructureDefinition/timezone"
DEFAULT_ZONE = "Europe/Paris"
# Every Appointment.status of FHIR R4 (http://hl7.org/fhir/appointmentstatus).
FHIR_STATUSES = {
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
}
# Elements we read; any other is refused rather than dropped unseen.
ELEMENTS = {
    "resourceType",
    "id",
    "meta",
    "text",
    "extension",
    "status",
    "description",
    "start",
    "end",
    "minutesDuration",
    "participant",
    "serviceType",
    "appointmentType",
    "created",
}
SEARCH_PARAMS = {
    "patient",
    "patient.identifier",
    "date",
    "status",
    "_count",
    "_offset",
    "_format",
}
# The instant grammar FHIR gives, which requires the offset (checked before fhir.resources,
# whose own message is in English).
INSTANT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
# Where each field of agenda.services lives in the resource (OperationOutcome.expression).
EXPRESSIONS = {
    "starts_at": "Appointment.start",
    "duration_minutes": "Appointment.end",
    "time_zone": f"Appointment.extension('{TIMEZONE_URL}')",
    "reason": "Appointment.description",
    "place": "Appointment.participant.actor.where(type = 'Location').display",
    "with_whom": "Appointment.participant.actor.where(type = 'Practitioner').display",
    "status": "Appointment.status",
}


def _invalid(diagnostics: str, expression: str, code: str = "value") -> FhirError:
    return FhirError(
        400,
        diagnostics,
        code=code,
        issues=[
            {
                "severity": "error",
                "code": code,
                "diagnostics": diagnostics,
                "expression": [expression],
            }
        ],
    )


def _refused_by_services(exc: agenda.AppointmentInvalid) -> FhirError:
    issues = [
        {
            "severity": "error",
            "code": "value" if name != "status" else "business-rule",
            "diagnostics": sentence,
            "expression": [EXPRESSIONS.get(name, "Appointment")],
        }
        for name, sentence in exc.errors.items()
    ]
    status = 422 if set(exc.errors) == {"status"} else 400
    code = "business-rule" if status == 422 else "value"
    return FhirError(status, " ".join(exc.errors.values()), code=code, issues=issues)


# --- Who calls -----------------------------------------------------------------------


@dataclass(frozen=True)
class Door:
    """The software's caller (``who``) or a patient's app (``app``): exactly one of them."""

    who: auth.Caller | None = None
    app: auth.AppToken | None = None

    def actor(self, person: Person):
        if self.who is not None:
            return self.who.actor
        if self.app is None:
            raise NotAllowed
        return self.app.actor(person.id)

    def open(self, person: Person | None) -> Person | None:
        """The patient, the software's asserted access mode applied (as DocumentReference)."""
        if self.who is not None:
            return _open_patient(self.who, person)
        if person is None or not person.space_is_open:
            return None
        return person

    @property
    def author_name(self) -> str:
        return str(getattr(self.app.application, "name", "")) if self.app else ""


def door(request, letters: str) -> Door:
    """Professional software (with its acting assertion), or a patient's app with the scope."""
    if request.headers.get(ACTING_HEADER):
        return Door(who=caller(request))
    wanted = " ou ".join(f"patient/Appointment.{letter}" for letter in letters)
    return Door(
        app=auth.app_token(
            request,
            "Appointment",
            letters,
            f"Ce jeton ne permet pas cette opération sur l'agenda : la portée {wanted} "
            "(ou patient/Appointment.cruds) est nécessaire.",
            software=caller,
        )
    )


# --- Reading the resource ----------------------------------------------------------------


def _instant(data: dict, name: str) -> None:
    value = data.get(name)
    if value is None:
        raise _invalid(
            f"{name} est obligatoire pour un rendez-vous prévu : un instant avec son décalage "
            "horaire, par exemple 2026-12-24T10:30:00+01:00.",
            f"Appointment.{name}",
            code="required",
        )
    if not isinstance(value, str) or not INSTANT.match(value):
        raise _invalid(
            f"{name} « {str(value)[:40]} » n'est pas un instant FHIR : date, heure avec secondes "
            "et décalage horaire (Z ou ±hh:mm), par exemple 2026-12-24T10:30:00+01:00.",
            f"Appointment.{name}",
        )


def _zone(resource) -> str:
    zones = [e for e in resource.extension or [] if e.url == TIMEZONE_URL]
    others = [e.url for e in resource.extension or [] if e.url != TIMEZONE_URL]
    if others:
        raise _invalid(
            f"Extension non prise en charge : {others[0][:100]} (seule {TIMEZONE_URL} l'est).",
            "Appointment.extension",
            code="not-supported",
        )
    if not zones:
        return DEFAULT_ZONE
    value = zones[0].valueCode
    if len(zones) > 1 or not value:
        raise _invalid(
            f"L'extension {TIMEZONE_URL} s'indique une fois, avec valueCode = un fuseau IANA "
            "(par exemple Indian/Reunion).",
            f"Appointment.extension('{TIMEZONE_URL}')",
        )
    return str(value)


def _check_offset(start: datetime, zone_name: str) -> None:
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return  # the service names the unknown zone
    offset = start.utcoffset()
    expected = start.astimezone(zone).utcoffset()
    if offset == expected or offset == timedelta(0):
        return

    def shown(delta) -> str:
        minutes = int(delta.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    raise _invalid(
        f"Le décalage horaire de start ({shown(offset)}) n'est pas celui du fuseau {zone_name} à "
        f"cette date ({shown(expected)}) : donnez l'heure dans ce fuseau, ou indiquez le fuseau "
        f"du rendez-vous par l'extension {TIMEZONE_URL} (par exemple Indian/Reunion).",
        "Appointment.start",
    )


def _kind(reference) -> str:
    if reference is None:
        return ""
    if reference.reference:
        return reference.reference.split("/", 1)[0].split("?", 1)[0]
    return reference.type or ""


def _practitioner_name(reference) -> str:
    if reference.display:
        return str(reference.display)
    identifier = reference.identifier
    if identifier is not None and identifier.value and identifier.system == RPPS_SYSTEM:
        rpps = str(identifier.value)
        rpps = rpps[1:] if len(rpps) == 12 and rpps.startswith("8") else rpps
        found = Professional.objects.filter(rpps=rpps).first()
        if found is not None:
            return str(found.display_name)
        raise _invalid(
            f"Aucun professionnel de l'annuaire n'a le RPPS « {identifier.value} » : vérifiez-le "
            "ou donnez son nom dans display.",
            "Appointment.participant.actor.identifier",
        )
    raise _invalid(
        f"Le praticien se désigne par son nom (display) ou son RPPS (identifier, système "
        f"{RPPS_SYSTEM}).",
        "Appointment.participant.actor",
        code="required",
    )


@dataclass
class Parsed:
    patient: Person | None
    patient_named: bool  # a Patient participant was given (maybe unknown)
    status: str
    data: dict[str, Any]


def read_resource(data: dict) -> Parsed:
    """The Appointment the sender declared, read and checked; nothing guessed nor dropped."""
    if data.get("resourceType") == "Appointment":
        unknown = sorted(set(data) - ELEMENTS - {f"_{name}" for name in ELEMENTS})
        if unknown:
            raise _invalid(
                f"Élément(s) non pris en charge : {', '.join(name[:40] for name in unknown[:5])}. "
                "Ce serveur conserve start, end, minutesDuration, status, description, "
                "participant (Patient, Practitioner, Location), serviceType et appointmentType "
                "(leur texte sert de motif sans description) ; il refuse le reste plutôt que "
                "de l'ignorer.",
                f"Appointment.{unknown[0][:40]}",
                code="not-supported",
            )
        for name in ("start", "end"):
            _instant(data, name)
    resource = parse(FhirAppointment, data)
    status = str(resource.status or "")
    if status not in FHIR_STATUSES:
        raise _invalid(
            f"Statut « {status[:40]} » inconnu : un rendez-vous est booked (prévu), cancelled "
            "(annulé) ou fulfilled (passé).",
            "Appointment.status",
        )
    start, end = resource.start, resource.end
    zone_name = _zone(resource)
    if end <= start:
        raise _invalid(
            "end doit suivre start : la fin du rendez-vous est avant (ou à) son début.",
            "Appointment.end",
        )
    length = end - start
    if length % timedelta(minutes=1):
        raise _invalid(
            "La durée (end − start) doit être un nombre entier de minutes.", "Appointment.end"
        )
    minutes = int(length / timedelta(minutes=1))
    if resource.minutesDuration is not None and resource.minutesDuration != minutes:
        raise _invalid(
            f"minutesDuration ({resource.minutesDuration}) ne correspond pas à end − start "
            f"({minutes} minutes) : corrigez l'un ou l'autre, ou omettez minutesDuration.",
            "Appointment.minutesDuration",
        )
    _check_offset(start, zone_name)
    patient, patient_named, with_whom, place = None, False, [], []
    for participant in resource.participant or []:
        actor = participant.actor
        kind = _kind(actor)
        if kind == "Patient":
            if patient_named:
                raise _invalid(
                    "Un seul participant Patient : le rendez-vous est dans l'agenda d'un patient.",
                    "Appointment.participant",
                )
            patient_named = True
            patient = patients.from_reference(actor.reference, actor.identifier)
        elif kind == "Practitioner":
            with_whom.append(_practitioner_name(actor))
        elif kind == "Location":
            if not actor.display:
                raise _invalid(
                    "Le lieu (participant Location) se donne par son adresse ou son nom, "
                    "dans display.",
                    "Appointment.participant.actor.display",
                    code="required",
                )
            place.append(str(actor.display))
        else:
            raise _invalid(
                f"Participant « {kind or 'sans type'} » non pris en charge : Patient, "
                "Practitioner ou Location (chacun par une référence ou son type).",
                "Appointment.participant.actor",
                code="not-supported",
            )
    if not patient_named:
        raise _invalid(
            "Le patient est obligatoire : un participant dont actor désigne le Patient "
            "(Patient/{id}, Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR> ou "
            "l'identifiant INS).",
            "Appointment.participant",
            code="required",
        )
    for items, what in ((with_whom, "Practitioner"), (place, "Location")):
        if len(items) > 1:
            raise _invalid(
                f"Un seul participant {what} est conservé par rendez-vous ; {len(items)} reçus.",
                "Appointment.participant",
            )
    reason = resource.description
    if reason is None:
        texts = [resource.appointmentType.text if resource.appointmentType else None]
        texts += [concept.text for concept in resource.serviceType or []]
        reason = next((text for text in texts if text), "")
    return Parsed(
        patient,
        patient_named,
        status,
        {
            "starts_at": start,
            "time_zone": zone_name,
            "duration_minutes": minutes,
            "reason": reason,
            "place": place[0] if place else "",
            "with_whom": with_whom[0] if with_whom else "",
        },
    )


# --- Mapping back --------------------------------------------------------------------------


def _version(row) -> str:
    return str(row.version)


def resource_of(row) -> dict:
    start = agenda.local_start(row)
    end = start + timedelta(minutes=row.duration_minutes)
    participants = [
        {
            "actor": {
                "reference": f"Patient/{row.patient_id}",
                "identifier": mapping.ins_identifier(row.patient),
            },
            "status": "accepted",
        }
    ]
    if row.with_whom:
        participants.append(
            {"actor": {"type": "Practitioner", "display": row.with_whom}, "status": "accepted"}
        )
    if row.place:
        participants.append(
            {"actor": {"type": "Location", "display": row.place}, "status": "accepted"}
        )
    resource = {
        "resourceType": "Appointment",
        "id": str(row.id),
        "meta": {"versionId": _version(row), "lastUpdated": mapping.instant(row.updated_at)},
        "extension": [{"url": TIMEZONE_URL, "valueCode": row.time_zone}],
        "status": row.status,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "minutesDuration": row.duration_minutes,
        "created": mapping.instant(row.created_at),
        "participant": participants,
    }
    if row.reason:
        resource["description"] = row.reason
    return resource


def _headers(request, row, location: bool = False) -> dict:
    headers = {
        "ETag": f'W/"{_version(row)}"',
        "Last-Modified": row.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    if location:
        headers["Location"] = f"{base_url(request)}/Appointment/{row.id}/_history/{_version(row)}"
    return headers


# --- Create --------------------------------------------------------------------------------


def _unknown_patient() -> FhirError:
    # As DocumentReference answers for a subject without a space.
    return FhirError(
        422, "Aucun espace santé ne correspond à ce patient : vérifiez son INS.", code="not-found"
    )


def create(request):
    entry = door(request, "c")
    parsed = read_resource(read_json(request))
    if parsed.status != "booked":
        raise _invalid(
            f"Un nouveau rendez-vous a le statut booked (prévu) ; reçu « {parsed.status} » "
            "(proposé, en attente, arrivé… ne sont pas gérés par l'agenda du patient).",
            "Appointment.status",
        )
    person = entry.open(parsed.patient)
    if person is None:
        if parsed.patient is not None:
            raise FhirError(
                403,
                "L'espace santé de ce patient n'est pas ouvert (fermé, suspendu ou pas encore "
                "créé) : aucun rendez-vous ne peut y être ajouté.",
                code="forbidden",
            )
        raise _unknown_patient()
    try:
        row = agenda.add_appointment(
            entry.actor(person), person, parsed.data, author_name=entry.author_name
        )
    except agenda.AppointmentInvalid as exc:
        raise _refused_by_services(exc) from None
    except NotAllowed:
        why = (
            "cette application n'a pas reçu l'accès à son agenda."
            if entry.app is not None
            else "il faut être son médecin traitant, dans son équipe de soins ou avoir son "
            "consentement (et ne pas avoir été bloqué)."
        )
        raise FhirError(
            403,
            f"L'ajout d'un rendez-vous dans l'agenda de ce patient est refusé : {why}",
            code="forbidden",
        ) from None
    headers = _headers(request, row, location=True)
    wanted = _prefer(request)
    if wanted == "minimal":
        return fhir_response(None, 201, headers=headers)
    if wanted == "OperationOutcome":
        return fhir_response(
            outcome("Rendez-vous ajouté à l'agenda du patient.", "informational", "information"),
            201,
            headers=headers,
        )
    return fhir_response(resource_of(row), 201, headers=headers)


# --- Search --------------------------------------------------------------------------------


def _bounds(request) -> tuple[datetime | None, datetime | None]:
    """``date`` parameters (AND-ed) as [start, end) on the appointment's start."""
    low: datetime | None = None
    high: datetime | None = None
    tick = timedelta(microseconds=1)
    for raw in request.GET.getlist("date"):
        if raw == "":
            continue
        prefix, first, last = cast(tuple, search._date_range(raw, "date"))
        if prefix in ("ne", "ap"):
            raise FhirError(
                400,
                f"Préfixe « {prefix} » non pris en charge pour date : eq, ge, gt, le, lt, sa, eb.",
                code="not-supported",
            )
        starts = {"eq": first, "ge": first, "gt": last + tick, "sa": last + tick}.get(prefix)
        ends = {"eq": last + tick, "le": last + tick, "lt": first, "eb": first}.get(prefix)
        if starts is not None:
            low = starts if low is None else max(low, starts)
        if ends is not None:
            high = ends if high is None else min(high, ends)
    return low, high


def _statuses(request) -> list[str] | None:
    values = [value for raw in request.GET.getlist("status") for value in raw.split(",") if value]
    if not values:
        return None
    for value in values:
        if value not in FHIR_STATUSES:
            raise FhirError(
                400,
                f"Statut « {value[:40]} » inconnu : booked, cancelled, fulfilled (ou un autre "
                "statut FHIR, qu'aucun rendez-vous de l'agenda ne porte).",
                code="value",
            )
    return values


def _search(request):
    entry = door(request, "s")
    unknown = {name.split(":", 1)[0] for name in request.GET} - SEARCH_PARAMS
    if unknown:
        raise FhirError(
            400,
            f"Paramètre(s) non pris en charge pour Appointment : {', '.join(sorted(unknown))} "
            "(patient, patient.identifier, date, status, _count).",
            code="not-supported",
        )
    low, high = _bounds(request)
    statuses = _statuses(request)
    count, offset, _ = search.paging(request)
    if entry.app is not None and not set(request.GET) & {"patient", "patient.identifier"}:
        # SMART: the app's own patient (the token's citizen).
        person = patients.by_id(str(getattr(entry.app.person, "id", "")))
    else:
        person = _patient_param(request)
    person = entry.open(person)
    rows = []
    if person is not None:
        try:
            rows = agenda.list_appointments(
                entry.actor(person), person, start=low, end=high, statuses=statuses
            )
        except NotAllowed:
            # As DocumentReference: no reason to reach this agenda (traced) finds nothing.
            rows = []
    page = rows[offset : offset + count]
    base = base_url(request)
    return fhir_response(
        mapping.searchset(
            [resource_of(row) for row in page],
            len(rows),
            _links(request, len(rows), count, offset),
            base,
        )
    )


@endpoint
def appointments(request):
    if request.method == "POST":
        return create(request)
    if request.method == "GET":
        return _search(request)
    raise method_not_allowed(request, "GET, POST")


# --- Read, update, cancel ------------------------------------------------------------------


def _existing(request, entry: Door, resource_id: str):
    """(patient, appointment) the caller may read; ``NotAllowed`` (404) otherwise."""
    person = entry.open(agenda.patient_of_appointment(resource_id))
    if person is None:
        raise NotAllowed
    return person, agenda.get_appointment(entry.actor(person), person, resource_id)


def _expected_version(request) -> int | None:
    wanted = request.headers.get("If-Match", "").strip()
    if not wanted:
        return None
    value = wanted.removeprefix("W/").strip('"')
    return int(value) if value.isdigit() and len(value) < 10 else -1


def _stale() -> FhirError:
    return FhirError(
        412,
        "Le rendez-vous a changé depuis votre lecture (If-Match ne correspond plus à sa "
        "version) : relisez-le puis recommencez.",
        code="conflict",
    )


def _update(request, entry: Door, person: Person, row, data: dict):
    parsed = read_resource(data)
    if data.get("id") not in (None, str(row.id)):
        raise _invalid(
            f"L'id du corps (« {str(data.get('id'))[:64]} ») n'est pas celui de l'adresse.",
            "Appointment.id",
        )
    if parsed.patient is None or parsed.patient.id != person.id:
        raise FhirError(
            422,
            "Le participant Patient n'est pas le patient de ce rendez-vous : un rendez-vous ne "
            "change pas d'agenda.",
            code="business-rule",
        )
    if parsed.status not in ("booked", "cancelled", "fulfilled"):
        raise _invalid(
            f"Statut « {parsed.status} » impossible : booked (prévu), cancelled (annulé) ou "
            "fulfilled (passé).",
            "Appointment.status",
        )
    actor = entry.actor(person)
    expected = _expected_version(request)
    current = {
        "starts_at": row.starts_at,
        "time_zone": row.time_zone,
        "duration_minutes": row.duration_minutes,
        "reason": row.reason,
        "place": row.place,
        "with_whom": row.with_whom,
    }
    changed = {name: value for name, value in parsed.data.items() if value != current.get(name)}
    try:
        if changed:
            row = agenda.update_appointment(
                actor, person, row.id, parsed.data, expected_version=expected
            )
            expected = row.version
        if parsed.status != row.status:
            row = agenda.set_appointment_status(
                actor, person, row.id, parsed.status, expected_version=expected
            )
        elif not changed and expected is not None and expected != row.version:
            raise _stale()
    except agenda.StaleVersion:
        raise _stale() from None
    except agenda.AppointmentInvalid as exc:
        raise _refused_by_services(exc) from None
    except NotAllowed:
        raise FhirError(
            403,
            "Seul l'auteur du rendez-vous (vous ou votre structure, ou l'application qui l'a "
            "ajouté) peut le modifier ou l'annuler.",
            code="forbidden",
        ) from None
    return fhir_response(resource_of(row), headers=_headers(request, row))


def _patched(request, before: dict) -> dict:
    operations = read_operations(request)
    try:
        after = jsonpatch.apply_patch(before, operations)
    except jsonpatch.InvalidJsonPatch as exc:
        raise FhirError(400, f"JSON Patch invalide : {exc}", code="structure") from None
    except jsonpatch.JsonPatchTestFailed as exc:
        raise FhirError(409, f"Le test du JSON Patch a échoué : {exc}", code="conflict") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise FhirError(422, f"JSON Patch inapplicable : {exc}", code="invalid") from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise FhirError(400, f"JSON Patch invalide : {exc}", code="structure") from None
    if not isinstance(after, dict):
        raise FhirError(
            400, "Le JSON Patch doit laisser une ressource Appointment.", code="structure"
        )
    after.pop("meta", None)
    return after


@endpoint
def appointment(request, resource_id, version=None):
    if request.method not in ("GET", "PUT", "PATCH") or (
        version is not None and request.method != "GET"
    ):
        raise method_not_allowed(request, "GET" if version is not None else "GET, PUT, PATCH")
    letters = "r" if request.method == "GET" else "u"
    entry = door(request, letters)
    person, row = _existing(request, entry, resource_id)
    if request.method == "GET":
        if version is not None and version != _version(row):
            raise FhirError(404, "Cette version du rendez-vous n'existe plus.", code="not-found")
        return fhir_response(resource_of(row), headers=_headers(request, row))
    if request.method == "PUT":
        return _update(request, entry, person, row, read_json(request))
    return _update(request, entry, person, row, _patched(request, resource_of(row)))
