"""FHIR search parameters of DocumentReference (ITI-67) as a ``Q`` on documents.

The policy filter is applied by ``record.documents.reading.search_documents``; this
module only translates what the client asks for. A parameter we cannot honour
truthfully (the data is not kept) is refused with 400 rather than ignored.
"""

from datetime import datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from espace_sante.identity.reference import RPPS_SYSTEM
from espace_sante.record.documents import services as record

from .http import FhirError
from .mapping import FHIR_TO_STATUS, FINESS_SYSTEM, VISIBILITY_CODES
from .patients import parse_token

CONTROL = {"_count", "_sort", "_offset", "_format"}
PATIENT_PARAMS = {"patient", "patient.identifier", "subject", "subject.identifier"}
SUPPORTED = {
    "status",
    "type",
    "category",
    "identifier",
    "security-label",
    "format",
    "relatesto",
    "author.identifier",
    "creation",
    "date",
    "period",
    "period-start",
    "period-end",
    "setting",
    "facility",
    "event",
}
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
MAX_COUNT = 100
DEFAULT_COUNT = 20


def _values(request, name) -> list[str]:
    """Repeated parameters are AND-ed; commas inside one are OR-ed."""
    return [value for value in request.GET.getlist(name) if value != ""]


def _ors(raw: str) -> list[str]:
    return [part for part in raw.split(",") if part]


def _date_range(raw: str, name: str) -> Q | tuple:
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    text = raw[2:] if raw[:2] in PREFIXES else raw
    moment = parse_datetime(text)
    if moment is not None:
        start = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
        end = start
    else:
        try:
            day = parse_date(text) if len(text) == 10 else None
            if day is None and len(text) == 7:
                day = parse_date(text + "-01")
            if day is None and len(text) == 4:
                day = parse_date(text + "-01-01")
        except ValueError:
            day = None
        if day is None:
            raise FhirError(
                400,
                f"Date « {raw} » illisible pour {name} : AAAA, AAAA-MM, AAAA-MM-JJ ou un instant "
                "ISO 8601, précédé éventuellement de ge, le, gt, lt.",
                code="value",
            )
        start = timezone.make_aware(datetime.combine(day, time.min))
        if len(text) == 4:
            end_day = day.replace(year=day.year + 1)
        elif len(text) == 7:
            end_day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            end_day = day + timedelta(days=1)
        end = timezone.make_aware(datetime.combine(end_day, time.min)) - timedelta(microseconds=1)
    return prefix, start, end


def date_q(field: str, raw: str, name: str) -> Q:
    prefix, start, end = _date_range(raw, name)
    return {
        "eq": Q(**{f"{field}__gte": start, f"{field}__lte": end}),
        "ne": ~Q(**{f"{field}__gte": start, f"{field}__lte": end}),
        "gt": Q(**{f"{field}__gt": end}),
        "sa": Q(**{f"{field}__gt": end}),
        "ge": Q(**{f"{field}__gte": start}),
        "lt": Q(**{f"{field}__lt": start}),
        "eb": Q(**{f"{field}__lt": start}),
        "le": Q(**{f"{field}__lte": end}),
    }[prefix]


def _one(name: str, raw: str) -> Q:
    if name == "status":
        q = Q(pk__in=[])
        for value in _ors(raw):
            if value not in FHIR_TO_STATUS:
                raise FhirError(
                    400,
                    f"Statut « {value} » inconnu : current, superseded ou entered-in-error.",
                    code="value",
                )
            q |= Q(status=FHIR_TO_STATUS[value])
        return q
    if name in ("type", "category", "format", "security-label", "identifier", "relatesto"):
        q = Q(pk__in=[])
        for value in _ors(raw):
            system, code = parse_token(value)
            if name == "type":
                q |= Q(type_code=code)
            elif name == "category":
                q |= Q(class_code=code)
            elif name == "format":
                q |= Q(format_code=code)
            elif name == "security-label":
                if code in ("N", "R", "V"):
                    q |= Q(confidentiality=code)
                elif code in VISIBILITY_CODES:
                    q |= Q(
                        **{
                            {
                                "MASQUE_PS": "masked_from_professionals",
                                "INVISIBLE_PATIENT": "invisible_patient",
                                "INVISIBLE_REPRESENTANTS_LEGAUX": "invisible_representatives",
                            }[code]: True
                        }
                    )
            elif name == "identifier":
                if code.startswith("urn:uuid:"):
                    q |= Q(pk=_uuid_or_none(code[9:]))
                q |= Q(master_identifier=code)
            elif name == "relatesto":
                q |= Q(replaces_id=_uuid_or_none(code.rsplit("/", 1)[-1]))
        return q
    if name in ("setting", "facility"):
        field = "practice_setting" if name == "setting" else "facility_type"
        q = Q(pk__in=[])
        for value in _ors(raw):
            system, code = parse_token(value)
            match = Q(**{f"{field}_code": code})
            if system:
                match &= Q(**{f"{field}_system": system})
            q |= match
        return q
    if name == "event":
        q = Q(pk__in=[])
        for value in _ors(raw):
            system, code = parse_token(value)
            q |= record.has_event(system, code)
        return q
    if name == "author.identifier":
        q = Q(pk__in=[])
        for value in _ors(raw):
            system, code = parse_token(value)
            if system == FINESS_SYSTEM or (not system and len(code) == 9):
                q |= Q(author_organization__finess=code)
            if system in (RPPS_SYSTEM, "") and len(code) in (11, 12):
                q |= Q(author_professional__rpps=code[1:] if len(code) == 12 else code)
        return q
    if name in ("creation",):
        return date_q("document_date", raw, name)
    if name == "date":
        return date_q("created_at", raw, name)
    if name == "period-start":
        return date_q("service_start", raw, name)
    if name == "period-end":
        return date_q("service_end", raw, name)
    if name == "period":
        prefix, start, end = _date_range(raw, name)
        # The service period overlaps the asked one.
        return Q(service_start__lte=end) & (Q(service_end__gte=start) | Q(service_end__isnull=True))
    raise AssertionError(name)


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def document_criteria(request) -> Q:
    """The ``Q`` of every DocumentReference search parameter, AND-ed; 400 on what we cannot do."""
    names = {name.split(":", 1)[0] for name in request.GET}
    unknown = names - SUPPORTED - PATIENT_PARAMS - CONTROL
    if unknown:
        raise FhirError(
            400,
            f"Paramètre(s) de recherche non pris en charge : {', '.join(sorted(unknown))}.",
            code="not-supported",
        )
    if not _values(request, "status"):
        raise FhirError(
            400,
            "Le paramètre status est obligatoire (ex. status=current).",
            code="required",
        )
    q = Q()
    for name in sorted(names & SUPPORTED):
        for raw in _values(request, name):
            q &= _one(name, raw)
    return q


def paging(request) -> tuple[int, int, bool]:
    """(count, offset, newest_first) from _count, _offset and _sort."""
    try:
        count = int(request.GET.get("_count", DEFAULT_COUNT))
        offset = int(request.GET.get("_offset", 0))
    except ValueError:
        raise FhirError(
            400, "_count et _offset doivent être des nombres entiers.", code="value"
        ) from None
    if count < 0 or offset < 0:
        raise FhirError(400, "_count et _offset ne peuvent pas être négatifs.", code="value")
    sort = request.GET.get("_sort", "-date")
    if sort not in ("-date", "date"):
        raise FhirError(
            400, f"Tri « {sort} » non pris en charge : _sort=-date ou date.", code="not-supported"
        )
    return min(count, MAX_COUNT), offset, sort == "-date"
