"""Measures of the profile (weight, blood pressure...): add, read, delete, goals, latest values.

A measure's LOINC code and date stay in clear; its values are encrypted. The
audit trail records every access as ``profile:measures``.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q

from espace_sante.access.policy import Action, Actor, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person

from .entries import access_to, scoped, validated
from .measure_forms import MeasureForm, MeasureTargetForm
from .models import Measure, MeasureTarget
from .reference import MEASURE_TYPES, MEASURES, MeasureType, french_number

MEASURES_TYPE = "profile:measures"


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


def _find(patient: Person, measure_id: uuid.UUID | str) -> Measure:
    """One measure of the patient; ``NotAllowed`` for an unknown or malformed id."""
    try:
        return scoped(Measure, patient).get(pk=measure_id)
    except (Measure.DoesNotExist, ValidationError, ValueError):
        raise NotAllowed from None


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
    access = access_to(actor, Action.CREATE, patient.id, MEASURES_TYPE)
    cleaned = validated(MeasureForm, data, patient, measure)
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
    access = access_to(actor, Action.DELETE, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        found = _find(patient, measure_id)
        # Locked: of parallel deletions (a double click), one deletes and is traced.
        row = scoped(Measure, patient).select_for_update().filter(pk=found.pk).first()
        if row is None:
            return  # deleted meanwhile by the same request sent twice
        access.trace(row)
        row.delete()


def get_measure(actor: Actor | None, patient: Person, measure_id: uuid.UUID | str) -> MeasurePoint:
    """One measure of the patient, decrypted (to confirm its deletion)."""
    access = access_to(actor, Action.READ, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        row = _find(patient, measure_id)
        access.trace(row)
    return _point(row, measure_type(row.code))


def measure_series(actor: Actor | None, patient: Person, code: str) -> list[MeasurePoint]:
    """Every measure of type ``code`` of the patient, newest first, decrypted."""
    measure = measure_type(code)
    access = access_to(actor, Action.LIST, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        rows = list(scoped(Measure, patient).filter(code=code).order_by("-measured_at"))
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
    access = access_to(actor, Action.READ, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        row = scoped(MeasureTarget, patient).filter(code=code).first()
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
    access = access_to(actor, Action.UPDATE, patient.id, MEASURES_TYPE)
    cleaned = validated(MeasureTargetForm, data, patient, measure)
    crypto.ensure_keys(patient)
    with transaction.atomic():
        row = scoped(MeasureTarget, patient).select_for_update().filter(code=code).first()
        row = row or MeasureTarget(patient=patient, code=code)
        row.value = cleaned["value"]
        row.second_value = cleaned.get("second_value")
        row.save()
        access.trace(row)
    return row


def clear_measure_target(actor: Actor | None, patient: Person, code: str) -> None:
    """Remove the patient's goal for measures of type ``code``."""
    measure_type(code)
    access = access_to(actor, Action.DELETE, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        row = scoped(MeasureTarget, patient).filter(code=code).first()
        if row is not None:
            access.trace(row)
            row.delete()


@dataclass
class LatestMeasure:
    measure: MeasureType
    point: MeasurePoint | None
    count: int


def latest_of(patient: Person) -> list[LatestMeasure]:
    """For each measure type, in the reference order: its newest row and how many there are.

    Two queries whatever the number of measures (steps come every day): the
    counts and dates per code, then only the newest rows, decrypted.
    """
    stats = list(
        scoped(Measure, patient)
        .values("code")
        .annotate(count=Count("id"), newest=Max("measured_at"))
        .order_by()
    )
    newest = Q(pk__in=[])
    for item in stats:
        newest |= Q(code=item["code"], measured_at=item["newest"])
    latest: dict[str, Measure] = {}
    for row in scoped(Measure, patient).filter(newest).order_by("-created_at"):
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
    access = access_to(actor, Action.LIST, patient.id, MEASURES_TYPE)
    with transaction.atomic():
        latest = latest_of(patient)
        access.trace()
    return latest
